#!/usr/bin/env python3
"""Two or more warmset builds against each other and igzip, alternated, on one gzipped log.

    scripts/compare-builds.py ROUNDS LOG NAME=BINARY [NAME=BINARY ...]
    scripts/compare-builds.py 21 bench-data/bench-5000000-hc-8000000-0.7.log.gz old=/tmp/old new=.build/release/warmset

Each round runs `igzip -dc LOG > /dev/null`, then each build's `analyze LOG --top 10000 --rule RULE
-q -o /dev/null` (make bench's goal command). A NAME=ENV=VALUE BINARY entry sets an environment
variable for that build. Prints, per build, the median wall and CPU seconds (wall from a monotonic
clock, CPU from the child's rusage) and the median of each round's wall ratio to that round's
igzip: the host's speed drifts between rounds, and pairing each run with its own round's igzip
keeps the drift out of the ratio. For differences of a few percent use 15 rounds or more and run
the builds in both orders. Nothing here fails on speed: the figures are the result.
"""
import os
import shlex
import statistics
import subprocess
import sys
import time

RULE = "^/products/(\\d+)$ => product:$1"


def run(argv, env=None):
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"compare-builds: {' '.join(argv)} failed (status {status})")
    return wall, usage.ru_utime + usage.ru_stime


def main():
    if len(sys.argv) < 4 or not sys.argv[1].isdigit():
        sys.exit(__doc__)
    rounds, log = int(sys.argv[1]), sys.argv[2]
    builds = []
    for entry in sys.argv[3:]:
        name, _, command = entry.partition("=")
        parts, env = shlex.split(command), dict(os.environ)
        while len(parts) > 1 and "=" in parts[0]:
            key, _, value = parts.pop(0).partition("=")
            env[key] = value
        builds.append((name, parts, env))
    results = {"igzip": []}
    results.update({name: [] for name, _, _ in builds})
    for _ in range(rounds):
        results["igzip"].append(run(["igzip", "-dc", log]))
        for name, parts, env in builds:
            results[name].append(run(parts + ["analyze", log, "--top", "10000", "--rule", RULE, "-q", "-o", "/dev/null"], env))
    for name, runs in results.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        ratios = [w / base for (w, _), (base, _) in zip(runs, results["igzip"])]
        print(f"{name:10s} wall {statistics.median(walls):.3f} s  CPU {statistics.median(cpus):.3f} s  "
              f"wall / igzip round by round: median {statistics.median(ratios):.3f}, min {min(ratios):.3f}, max {max(ratios):.3f}")


if __name__ == "__main__":
    main()
