"""examples/spark/warm_set.py on a real standalone cluster (conftest.py) against warmset on one machine."""

import gzip
import importlib.util
import json
import os
import re
import subprocess

import pytest

from conftest import JOB, ROOT

LOGS = 8
LINES = 20_000  # per log; 30,000 distinct pages, so each task's 2 x --top candidates are a real cut
KEYS = 30_000
RULES = os.path.join(ROOT, "fixtures", "sample", "rules.yaml")


def load_job():
    spec = importlib.util.spec_from_file_location("warm_set", JOB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


job = load_job()


@pytest.fixture(scope="session")
def logs(warmset, tmp_path_factory):
    """Eight generated gzip logs (seeds 1-8) and a copy of the third cut short."""
    folder = tmp_path_factory.mktemp("logs")
    paths = []
    for seed in range(1, LOGS + 1):
        text = subprocess.run([warmset, "generate", "--lines", str(LINES), "--keys", str(KEYS), "--zipf", "1.0",
                               "--seed", str(seed)], capture_output=True, check=True).stdout
        path = folder / f"access-{seed}.log.gz"
        path.write_bytes(gzip.compress(text, 6))
        paths.append(str(path))
    return paths


def one_machine(warmset, inputs, options, tmp_path, name):
    out = tmp_path / name
    subprocess.run([warmset, "analyze", *inputs, "-o", str(out), "-q", *options], check=True)
    return out.read_bytes()


def ranked(jsonl):
    return [(entry["key"], entry["count"]) for entry in map(json.loads, jsonl.decode().splitlines())]


def assert_same_top(expected, actual, n):
    """The same top n, except that keys tied with the n-th count may stand in for each other."""
    assert len(expected) == len(actual) == n
    cut_expected, cut_actual = expected[-1][1], actual[-1][1]
    assert cut_expected == cut_actual, f"the {n}th count is {cut_actual}, on one machine {cut_expected}"
    keys_expected, keys_actual = {k for k, _ in expected}, {k for k, _ in actual}
    for key, count in expected:
        if count > cut_expected:
            assert key in keys_actual, f"{key} ({count}, above the cut {cut_expected}) is missing from the job's top {n}"
    for key, count in actual:
        if count > cut_actual:
            assert key in keys_expected, f"{key} ({count}, above the cut {cut_actual}) is not in one machine's top {n}"
    for key, count in expected:
        if key not in keys_actual:
            assert count == cut_expected, f"{key} ({count}) differs though it is not tied at the cut"
    for key, count in actual:
        if key not in keys_expected:
            assert count == cut_actual, f"{key} ({count}) differs though it is not tied at the cut"


def assert_clean_failure(done, *sentences):
    """Exit 1, the sentences in the output, and no Python traceback standing in for them."""
    assert done.returncode == 1, done.output[-4000:]
    for sentence in sentences:
        assert sentence in done.output, done.output[-4000:]
    assert "Traceback" not in done.output, done.output[-4000:]
    assert "no manifest was written" in done.output


# --- Without a cluster -----------------------------------------------------------------------

def analyze_help_options(warmset):
    text = subprocess.run([warmset, "analyze", "--help"], capture_output=True, text=True, check=True).stdout
    options = {}
    for line in text.splitlines():
        m = re.match(r"^  (?:(-\w), )?(--[a-z][\w-]*)( <[^>]*>)?", line)
        if m:
            for name in filter(None, (m.group(1), m.group(2))):
                options[name] = m.group(3) is not None
    return options


def test_every_analyze_option_is_classified(warmset):
    """A new analyze option fails this test until the job knows where it goes (map or finish)."""
    in_help = analyze_help_options(warmset)
    assert len(in_help) > 50
    table = {name: takes_value for name, (takes_value, _) in job.ANALYZE_OPTIONS.items()}
    assert table == in_help
    assert all(job.REFUSALS.get(name) for name, (_, role) in job.ANALYZE_OPTIONS.items() if role == "refuse")


def test_options_after_the_separator_split_into_map_and_finish():
    map_opts, finish_opts = job.split_analyze_options(
        ["--update", "plain", "--format=combined", "--output-format", "tsv", "--warm-redis", "redis://x:6379",
         "--ttl", "60", "--no-ttl", "--single-thread", "-q", "--exclude", "-o"])
    assert map_opts == ["--update", "plain", "--format=combined", "--single-thread", "--exclude", "-o"]
    assert finish_opts == ["--update", "plain", "--format=combined", "--output-format", "tsv", "--warm-redis",
                           "redis://x:6379", "--ttl", "60", "--no-ttl", "--single-thread", "-q", "--exclude", "-o"]
    for refused, reason in [("--recount", "reads the log files a second time"), ("--exact", "one hash map")]:
        with pytest.raises(job.UsageError, match=reason):
            job.split_analyze_options(["--update", "plain", refused])
    with pytest.raises(job.UsageError, match="not an option of warmset analyze"):
        job.split_analyze_options(["--no-such-option"])
    with pytest.raises(job.UsageError, match="needs a value"):
        job.split_analyze_options(["--top"])


def test_tree_depth_leaves_the_driver_a_few_sketches():
    for partitions in [1, 2, 8, 64, 1000, 100_000]:
        depth = job.tree_depth(partitions)
        assert max(2, int(-(-partitions ** (1 / depth) // 1))) <= 4


def test_the_tie_aware_check_allows_only_ties_at_the_cut():
    top = [("a", 9), ("b", 7), ("c", 5), ("d", 5)]
    assert_same_top(top, [("a", 9), ("b", 7), ("d", 5), ("e", 5)], 4)  # e is tied with the cut
    with pytest.raises(AssertionError, match="above the cut"):
        assert_same_top(top, [("a", 9), ("c", 5), ("d", 5), ("e", 5)], 4)  # b (7) lost
    with pytest.raises(AssertionError):
        assert_same_top(top, [("a", 9), ("b", 7), ("c", 5), ("e", 4)], 4)  # d swapped for a lower key


# --- On the cluster -------------------------------------------------------------------------

def test_plain_update_is_byte_for_byte_one_machine(cluster, warmset, logs, tmp_path):
    """Linear sketches merge exactly: the job's manifest is one machine's, byte for byte."""
    options = ["--update", "plain", "--output-format", "jsonl"]
    expected = one_machine(warmset, logs, ["--top", "1000", *options], tmp_path, "one.jsonl")
    out = tmp_path / "job.jsonl"
    done = cluster.submit(["--warmset", warmset, "--top", "1000", "--output", str(out), "--min-partitions", "8",
                           *logs, "--", *options])
    assert done.returncode == 0, done.output[-4000:]
    assert "merged the sketches of 8 input(s)" in done.output
    assert out.read_bytes() == expected
    assert len(expected.splitlines()) == 1000


def test_conservative_update_gives_the_same_top_1000(cluster, warmset, logs, tmp_path):
    """The default update is not linear: the same top 1,000, ties at the cut aside. Also
    --rules shipped to the executors, and finish-only options after -- (tsv, --save-sketch)."""
    expected = one_machine(warmset, logs, ["--top", "1000", "--rules", RULES, "--output-format", "jsonl"],
                           tmp_path, "one.jsonl")
    out, saved = tmp_path / "job.tsv", tmp_path / "merged.sketch"
    done = cluster.submit(["--warmset", warmset, "--rules", RULES, "--top", "1000", "--output", str(out), *logs,
                           "--", "--output-format", "tsv", "--save-sketch", str(saved)])
    assert done.returncode == 0, done.output[-4000:]
    actual = [(key, float(count)) for key, count in (line.split("\t") for line in out.read_text().splitlines())]
    assert all(key.startswith(("product:", "user:", "item:", "category:")) for key, _ in actual)
    assert_same_top([(k, float(c)) for k, c in ranked(expected)], actual, 1000)
    # The merged sketch the finish saved ranks to the same manifest.
    again = one_machine(warmset, [str(saved)], ["--top", "1000", "--output-format", "tsv"], tmp_path, "again.tsv")
    assert again == out.read_bytes()


def test_a_damaged_gzip_fails_the_job_with_warmsets_sentence(cluster, warmset, logs, tmp_path):
    bad = tmp_path / "access-9.log.gz"
    bad.write_bytes(open(logs[2], "rb").read()[:200_000])
    said = subprocess.run([warmset, "analyze", "-", "--save-sketch", "-", "-q"], stdin=open(bad, "rb"),
                          capture_output=True, text=True)
    assert said.returncode == 1 and "gzip stream is truncated" in said.stderr
    out = tmp_path / "warm.keys"
    done = cluster.submit(["--warmset", warmset, "--output", str(out), *logs[:3], str(bad)])
    assert_clean_failure(done, f"{bad.name}: {said.stderr.strip()}", "1 task(s) failed")
    assert not out.exists()


def test_a_sketch_made_with_other_settings_fails_the_merge(cluster, warmset, logs, tmp_path):
    """Yesterday's sketch (conservative) among today's plain-update logs: warmset merge says so."""
    old = tmp_path / "yesterday.sketch"
    subprocess.run([warmset, "analyze", logs[0], "--save-sketch", str(old), "-o", "/dev/null", "-q"], check=True)
    done = cluster.submit(["--warmset", warmset, "--output", str(tmp_path / "warm.keys"), *logs[1:3], str(old),
                           "--", "--update", "plain"])
    assert_clean_failure(done, "cannot merge this sketch: its update rule", "merging the sketch of",
                         "sketches merge only when made with the same settings")


def test_no_binary_on_the_executors_fails_the_job(cluster, warmset, logs, tmp_path):
    """`--warmset warmset` is looked up on each machine's PATH: the driver has it, the workers not."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(warmset, bin_dir / "warmset")
    env = {"PATH": f"{bin_dir}{os.pathsep}{cluster.env['PATH']}"}
    done = cluster.submit(["--warmset", "warmset", "--output", str(tmp_path / "warm.keys"), *logs[:2]], env=env)
    assert_clean_failure(done, "no warmset binary 'warmset' on", "ship the static build from `make release`")


def test_recount_is_refused_with_the_reason(cluster, warmset, logs, tmp_path):
    done = cluster.submit(["--warmset", warmset, *logs[:1], "--", "--update", "plain", "--recount"])
    assert done.returncode == 2, done.output[-4000:]
    assert "--recount is refused: it reads the log files a second time" in done.output
    assert "Traceback" not in done.output


def test_an_input_past_max_malformed_fails_the_job_with_warmsets_sentence(cluster, warmset, logs, tmp_path):
    """A file that is not an access log (past --max-malformed) fails its task, and so the job."""
    junk = tmp_path / "not-a-log.txt"
    junk.write_text("".join(f"this is line {i} of something else\n" for i in range(200)))
    said = subprocess.run([warmset, "analyze", "-", "--save-sketch", "-", "-q"], stdin=open(junk, "rb"),
                          capture_output=True, text=True)
    assert said.returncode == 1 and "do not match the format" in said.stderr, said.stderr
    out = tmp_path / "warm.keys"
    done = cluster.submit(["--warmset", warmset, "--output", str(out), *logs[:2], str(junk)])
    assert_clean_failure(done, f"{junk.name}: {said.stderr.strip()}", "1 task(s) failed")
    assert not out.exists()
