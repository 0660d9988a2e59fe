"""warm_set.py: warmset on Apache Spark. Logs in (HDFS, object storage, local), one warm set out.

    spark-submit examples/spark/warm_set.py --warmset PATH/TO/warmset --rules rules.yaml \\
        --top 10000 --output warm.jsonl 'hdfs:///logs/nginx/2026-12-0*/*.gz' [-- more analyze options]

Map: every input file is piped, as bytes, through `warmset analyze - --save-sketch - -q` on an
executor (gzip is inflated by warmset; a sketch among the inputs is read as a sketch).
Reduce: the sketches are merged pairwise with `warmset merge`, in a tree (`treeReduce`), so the
driver never holds more than a few of them.
Finish: the driver ranks the merged sketch with `warmset analyze` and writes the manifest (or
warms a cache: `-- --warm-redis URL ...`).

Options after `--` go to `warmset analyze`: those that shape the counting (format, filters, keys,
sketch size, --update, --weight, --half-life, --top ...) to every task and to the finish, those
that shape the output or warm a cache only to the finish. `--recount`, `--exact` and the
strategy options (`--strategy`, `--at`, `--history`, `--window`) are refused: they need the
logs in one place. A failing task (a damaged gzip, a wrong --format, a sketch made
with other settings, no warmset binary on an executor) fails the job with warmset's own sentence
and the input it was about, exit status 1; usage errors exit 2. Docs: docs/scale-out.md.
"""

import argparse
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zlib

PROG = "warm_set.py"

# Every option of `warmset analyze`: (takes a value, where it goes). "map": to every task and to
# the finish; "finish": only to the ranking on the driver; "refuse": not for a distributed run.
# tests/spark/test_warm_set.py checks this table against `warmset analyze --help`, and an option
# that is not in it is refused rather than guessed at (a warm option run by every task would
# warm the cache from each file's own ranking).
ANALYZE_OPTIONS = {
    # Input
    "--format": (True, "map"),
    "--json-field": (True, "map"),
    "--max-line-bytes": (True, "map"),
    "--inflate": (True, "map"),
    "--single-thread": (False, "map"),
    "--threads": (True, "map"),
    # Filters
    "--methods": (True, "map"),
    "--status": (True, "map"),
    "--since": (True, "map"),
    "--until": (True, "map"),
    "--host": (True, "map"),
    "--exclude": (True, "map"),
    # Keys
    "--rule": (True, "map"),
    "--rules": (True, "map"),
    "--keep-query": (True, "map"),
    "--max-key-bytes": (True, "map"),
    # Counting
    "--exact": (False, "refuse"),
    "--sketch-memory": (True, "map"),
    "--epsilon": (True, "map"),
    "--delta": (True, "map"),
    # Output (--top sets how many candidate keys each task keeps: 2 x --top)
    "--top": (True, "map"),
    "-o": (True, "finish"),
    "--output": (True, "finish"),
    "--output-format": (True, "finish"),
    "--base-url": (True, "finish"),
    "--summary-json": (True, "finish"),
    "-q": (False, "finish"),
    "--quiet": (False, "finish"),
    "--allow-partial": (False, "map"),
    "--max-malformed": (True, "map"),
    # Choosing the warm set
    "--coverage": (True, "finish"),
    "--budget": (True, "finish"),
    "--min-count": (True, "finish"),
    # Weights
    "--weight": (True, "map"),
    "--half-life": (True, "map"),
    # Strategy (each task saves a sketch, and a sketch keeps no log times to place requests by)
    "--strategy": (True, "refuse"),
    "--at": (True, "refuse"),
    "--history": (True, "refuse"),
    "--window": (True, "refuse"),
    # Sketch files and report (--save-sketch at the finish saves the merged sketch)
    "--save-sketch": (True, "finish"),
    "--update": (True, "map"),
    "--recount": (False, "refuse"),
    "--report": (True, "finish"),
    # Warming
    "--origin": (True, "finish"),
    "--copy-from": (True, "finish"),
    "--header": (True, "finish"),
    "--ttl": (True, "finish"),
    "--no-ttl": (False, "finish"),
    "--ttl-jitter": (True, "finish"),
    "--overwrite": (False, "finish"),
    "--dry-run": (False, "finish"),
    "--connections": (True, "finish"),
    "--concurrency": (True, "finish"),
    "--rate": (True, "finish"),
    "--batch": (True, "finish"),
    "--max-failures": (True, "finish"),
    "--cluster": (False, "finish"),
    "--connect-timeout": (True, "finish"),
    "--timeout": (True, "finish"),
    "--reconnect-for": (True, "finish"),
    "--tls-ca": (True, "finish"),
    "--tls-cert": (True, "finish"),
    "--tls-key": (True, "finish"),
    "--tls-insecure": (False, "finish"),
    "--distribution": (True, "finish"),
    "--long-keys": (True, "finish"),
    "--max-value-bytes": (True, "finish"),
    "--method": (True, "finish"),
    "--follow-redirects": (False, "finish"),
    "--http-node": (True, "finish"),
    "--variant": (True, "finish"),
    "--verify": (False, "finish"),
    "--verify-sample": (True, "finish"),
    "--warm-redis": (True, "finish"),
    "--warm-memcached": (True, "finish"),
    "--warm-http": (True, "finish"),
    "--warm-report": (True, "finish"),
    "--version": (False, "refuse"),
    "-h": (False, "refuse"),
    "--help": (False, "refuse"),
}

WARM_TARGETS = ("--warm-redis", "--warm-memcached", "--warm-http")

STRATEGY_REFUSAL = ("it scores each request by its log time relative to a deploy time, and the tasks' "
                    "sketches keep no log times (warmset analyze refuses --save-sketch with it); use "
                    "--half-life for a decayed ranking, or run `warmset analyze --strategy ... --at ...` "
                    "on one machine that can read all the logs")

REFUSALS = {
    "--recount": "it reads the log files a second time to count the candidate keys exactly, and "
    "here the logs are spread over the executors while the ranking runs on the driver from the "
    "merged sketch (its counts carry the sketch's error bound; for exact counts run "
    "`warmset analyze --recount` on one machine that can read all the logs)",
    "--exact": "it counts every key in one hash map on one machine, and the job merges sketches; "
    "use a larger --sketch-memory for a smaller error bound",
    "--strategy": STRATEGY_REFUSAL,
    "--at": STRATEGY_REFUSAL,
    "--history": STRATEGY_REFUSAL,
    "--window": STRATEGY_REFUSAL,
    "--version": "run `warmset --version`",
    "-h": "run `warmset analyze --help`",
    "--help": "run `warmset analyze --help`",
}


class UsageError(Exception):
    """A command line the job cannot run; its text is one sentence."""


def split_analyze_options(tokens):
    """Splits the options after `--` into (map options, finish options).

    Map options go to every task's `warmset analyze` and to the finish; finish options only to
    the finish. Raises UsageError for a refused or unknown option or a positional argument.
    """
    map_opts, finish_opts = [], []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name, attached = (token.split("=", 1) + [None])[:2] if token.startswith("--") else (token, None)
        if name not in ANALYZE_OPTIONS:
            if token.startswith("-") and token != "-":
                raise UsageError(f"'{token}' after -- is not an option of warmset analyze that {PROG} knows; "
                                 "see `warmset analyze --help`")
            raise UsageError(f"'{token}' after --: give the inputs before --, and only options after it")
        takes_value, role = ANALYZE_OPTIONS[name]
        if role == "refuse":
            raise UsageError(f"{name} is refused: {REFUSALS[name]}")
        group = [token]
        if takes_value and attached is None:
            if i + 1 >= len(tokens):
                raise UsageError(f"{name} after -- needs a value")
            group.append(tokens[i + 1])
            i += 1
        elif not takes_value and attached is not None:
            raise UsageError(f"{name} after -- takes no value")
        i += 1
        finish_opts += group
        if role == "map":
            map_opts += group
    return map_opts, finish_opts


def parse_arguments(argv):
    """The job's command line: its own options, the inputs, then `--` and analyze options."""
    if "--" in argv:
        cut = argv.index("--")
        own, passed = argv[:cut], argv[cut + 1:]
    else:
        own, passed = argv, []
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Rank the cache keys of access logs on a Spark cluster with warmset "
        "(map: warmset analyze per file; reduce: warmset merge in a tree; finish: warmset analyze).",
        epilog="Options after -- go to warmset analyze (e.g. -- --update plain --output-format jsonl "
        "--warm-redis redis://cache:6379 --origin 'http://api/p/{1}' --ttl 3600).")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="log files, directories or globs Spark can read (hdfs://, s3a://, file://, ...); "
                        "plain or gzip, one task per file; warmset sketches are read too")
    parser.add_argument("--warmset", default="warmset", metavar="PATH",
                        help="the warmset binary (the static `make release` build): a path is shipped to "
                        "the executors like spark-submit --files; a bare name is looked up on each "
                        "machine's PATH (default: warmset)")
    parser.add_argument("--rules", metavar="FILE",
                        help="warmset's rules file, shipped to the executors (warmset analyze --rules)")
    parser.add_argument("--top", type=int, metavar="N", help="how many keys the warm set holds (warmset analyze --top)")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the manifest to this file on the driver (needed unless warming a cache "
                        "with -- --warm-redis/--warm-memcached/--warm-http)")
    parser.add_argument("--min-partitions", type=int, metavar="N",
                        help="at least this many Spark partitions for the inputs (default: Spark's)")
    args = parser.parse_args(own)
    try:
        map_opts, finish_opts = split_analyze_options(passed)
    except UsageError as error:
        parser.error(str(error))
    if args.top is not None and args.top <= 0:
        parser.error("--top must be 1 or more")
    names = [token.split("=", 1)[0] for token in finish_opts]
    warming = any(name in WARM_TARGETS for name in names)
    if args.output == "-" or (args.output is None and not warming and not {"-o", "--output"} & set(names)):
        parser.error("give --output FILE: spark-submit passes the driver's stderr (Spark's messages, "
                     "warmset's summary) to its stdout, so a manifest on stdout would be mixed with them")
    args.map_opts, args.finish_opts = map_opts, finish_opts
    return parser, args


# --- On the executors (and on the driver for the last merges) -------------------------------

# What travels through the reduce is a plain tuple (results are pickled with the standard pickle,
# which cannot name a class defined in this script on the other side):
#   ("sketch", gzipped sketch bytes, path of its first input, how many inputs it counts)
#   ("failed", [sentences, at most FAILURES_SHOWN], how many tasks failed)
FAILURES_SHOWN = 20


def failure(message):
    return ("failed", [message], 1)


def failed(value):
    return value[0] == "failed"


def describe(sketch):
    _, _, first, inputs = sketch
    return first if inputs == 1 else f"{inputs} inputs ({first}, ...)"


def sketch_file_name(sketch):
    _, _, first, inputs = sketch
    base = os.path.basename(first.rstrip("/")) or "input"
    return f"{base}.sketch.gz" if inputs == 1 else f"merged-{inputs}-from-{base}.sketch.gz"


def find_binary(setting):
    """The warmset binary on this machine, or a failure saying why there is none."""
    from pyspark import SparkFiles

    name = os.path.basename(setting)
    try:
        shipped = SparkFiles.get(name)
    except Exception:  # no SparkContext/TaskContext files here
        shipped = None
    if shipped and os.path.isfile(shipped):
        if os.access(shipped, os.X_OK):
            return shipped
        # Some file systems lose the execute bit in transit: a private executable copy.
        private = os.path.join(tempfile.mkdtemp(prefix="warmset-bin-"), name)
        shutil.copyfile(shipped, private)
        os.chmod(private, 0o755)
        return private
    found = shutil.which(setting)
    if found:
        return found
    return failure(
        f"no warmset binary '{setting}' on {socket.gethostname()}: it was neither shipped with the job "
        f"(--warmset PATH/TO/warmset, or spark-submit --files) nor found on this machine's PATH "
        f"({os.environ.get('PATH', '')}); ship the static build from `make release`, or install it there")


def run_warmset(binary, arguments, stdin_bytes, about, cwd=None):
    """Runs warmset: its stdout, or a failure carrying warmset's own sentence."""
    try:
        done = subprocess.run([binary, *arguments], input=stdin_bytes, capture_output=True, cwd=cwd)
    except OSError as error:
        return failure(f"{about}: cannot run {binary} on {socket.gethostname()}: {error.strerror}")
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}, nothing on stderr"
        return failure(f"{about}: {said}")
    return done.stdout


def sketch_of_file(binary_setting, map_opts, record):
    """Map: one input file's bytes through `warmset analyze - --save-sketch - -q`."""
    path, data = record
    binary = find_binary(binary_setting)
    if isinstance(binary, tuple):
        return binary
    out = run_warmset(binary, ["analyze", "-", "--save-sketch", "-", "-q", *localize(map_opts)], data, path)
    if isinstance(out, tuple):
        return out
    # A mostly empty table compresses well; warmset reads gzipped sketches as they are.
    return ("sketch", zlib_gzip(out), path, 1)


def merge_two(binary_setting, left, right):
    """Reduce: two sketches into one with `warmset merge`; failures are carried along instead."""
    if failed(left) or failed(right):
        if failed(left) and failed(right):
            return ("failed", (left[1] + right[1])[:FAILURES_SHOWN], left[2] + right[2])
        return left if failed(left) else right
    binary = find_binary(binary_setting)
    if isinstance(binary, tuple):
        return binary
    names = [sketch_file_name(left), sketch_file_name(right)]
    if names[0] == names[1]:
        names[1] = "2-" + names[1]
    with tempfile.TemporaryDirectory(prefix="warmset-merge-") as folder:
        for name, sketch in zip(names, (left, right)):
            with open(os.path.join(folder, name), "wb") as file:
                file.write(sketch[1])
        # Relative names, so that warmset's sentence names the inputs, not a temporary folder.
        about = f"merging the sketch of {describe(left)} with that of {describe(right)}"
        out = run_warmset(binary, ["merge", *names, "-o", "-", "-q"], b"", about, cwd=folder)
    if isinstance(out, tuple):
        return out
    return ("sketch", zlib_gzip(out), left[2], left[3] + right[3])


def zlib_gzip(data):
    """gzip at level 1: quick, and a sparse table shrinks a lot."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    return packer.compress(data) + packer.flush()


def localize(options):
    """Points --rules at the copy shipped to this machine, when it was shipped."""
    from pyspark import SparkFiles

    out = list(options)
    for i, token in enumerate(out):
        if token == "--rules" and i + 1 < len(out):
            out[i + 1] = shipped_path(out[i + 1], SparkFiles)
        elif token.startswith("--rules="):
            out[i] = "--rules=" + shipped_path(token.split("=", 1)[1], SparkFiles)
    return out


def shipped_path(path, spark_files):
    try:
        local = spark_files.get(os.path.basename(path))
    except Exception:
        return path
    return local if os.path.isfile(local) else path


# --- On the driver --------------------------------------------------------------------------

def fail(message):
    print(f"{PROG}: {message}", file=sys.stderr)
    return 1


def resolve_driver_binary(setting):
    """The binary the driver runs, and whether to ship it (a path) or rely on PATH (a name)."""
    if os.sep in setting:
        if not (os.path.isfile(setting) and os.access(setting, os.X_OK)):
            raise UsageError(f"--warmset {setting}: no executable file there; build it with `make release` "
                             "(.build/release/warmset)")
        return os.path.abspath(setting), True
    found = shutil.which(setting)
    if not found:
        raise UsageError(f"--warmset {setting}: not found on the driver's PATH; give the binary's path "
                         "(it is then shipped to the executors)")
    return found, False


def rules_files(options):
    files = []
    for i, token in enumerate(options):
        if token == "--rules" and i + 1 < len(options):
            files.append(options[i + 1])
        elif token.startswith("--rules="):
            files.append(token.split("=", 1)[1])
    return files


def tree_depth(partitions):
    """Depth that leaves at most about four sketches to the driver's last merges."""
    return max(2, math.ceil(math.log(max(partitions, 2), 4)))


def main(argv):
    parser, args = parse_arguments(argv)
    own = (["--rules", args.rules] if args.rules else []) + (["--top", str(args.top)] if args.top else [])
    map_opts = own + args.map_opts
    finish_opts = own + args.finish_opts
    try:
        driver_binary, ship = resolve_driver_binary(args.warmset)
        for path in rules_files(map_opts):
            if not os.path.isfile(path):
                raise UsageError(f"--rules {path}: no such file on the driver")
    except UsageError as error:
        parser.error(str(error))

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("warmset warm set").getOrCreate()
    try:
        merged = map_and_reduce(spark.sparkContext, args, driver_binary, ship, map_opts)
    finally:
        spark.stop()
    if isinstance(merged, str):
        return fail(merged)
    if failed(merged):
        _, messages, count = merged
        for message in messages:
            print(f"{PROG}: {message}", file=sys.stderr)
        shown = f" (the first {len(messages)} shown)" if count > len(messages) else ""
        return fail(f"{count} task(s) failed{shown}; no manifest was written")
    return finish(driver_binary, merged, finish_opts, args.output)


def map_and_reduce(sc, args, driver_binary, ship, map_opts):
    """The merged sketch of all inputs, a failure tuple, or a sentence saying why there is none."""
    if ship:
        sc.addFile(driver_binary)
    for path in rules_files(map_opts):
        sc.addFile(os.path.abspath(path))
    setting = os.path.basename(driver_binary) if ship else args.warmset
    inputs = " ".join(args.inputs)
    try:
        files = sc.binaryFiles(",".join(args.inputs), minPartitions=args.min_partitions)
        partitions = files.getNumPartitions()
    except Exception as error:  # Py4J: a path that does not exist, a file system it cannot reach
        return f"cannot list the inputs {inputs}: {first_line(error)}; no manifest was written"
    if partitions == 0:
        return f"no input files in {inputs}; no manifest was written"
    sketches = files.map(lambda record: sketch_of_file(setting, map_opts, record))
    return sketches.treeReduce(lambda a, b: merge_two(setting, a, b), depth=tree_depth(partitions))


def finish(binary, merged, finish_opts, output):
    """Ranks the merged sketch on the driver; warmset prints its summary and sets the exit status."""
    with tempfile.TemporaryDirectory(prefix="warmset-finish-") as folder:
        path = os.path.join(folder, "merged.sketch.gz")
        with open(path, "wb") as file:
            file.write(merged[1])
        print(f"{PROG}: merged the sketches of {merged[3]} input(s); ranking them on the driver", file=sys.stderr)
        command = [binary, "analyze", path, *(["-o", output] if output else []), *finish_opts]
        return subprocess.run(command).returncode


def first_line(error):
    """The Java exception's own message out of a Py4J error (without the class name and stack)."""
    text = str(error).strip()
    for line in text.splitlines():
        if "Exception: " in line:
            return line.split("Exception: ", 1)[1].strip()
    return text.splitlines()[0] if text else type(error).__name__


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
