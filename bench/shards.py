"""How evenly the CI shards split the run: each shard run alone, one after another.

    python -m bench.shards [--shards 4] [--repeats 3] [--method least_duration]

For each repeat: the whole run (``pytest -n auto --hypothesis-profile=ci``, as
a pull-request job runs it), then shard 1, 2, ... K, each a separate
``pytest -n auto --splits K --group G`` (what one CI machine runs).  Prints
each wall time, the medians over the repeats, and the balance: the slowest
shard's median over the mean of the shards' medians (1.0 is perfect; a
pull-request's sharded run lasts as long as its slowest shard).

``--method``: pytest-split's ``least_duration`` (the workflow's) or
``duration_based_chunks``, both from the stored ``.test_durations``; or
``round-robin`` (every K-th collected id, blind to durations: what the
workflow did before).  Run from the repository root on an otherwise quiet
machine; on a shared one, repeat and read the medians.
"""

import argparse
import statistics
import subprocess
import sys
import time

BASE = [sys.executable, "-m", "pytest", "-n", "auto", "-q", "-p", "no:cacheprovider",
        "--hypothesis-profile=ci"]


def _timed(command):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    tail = (result.stdout + result.stderr).strip().splitlines()[-1:]
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[3:])} failed (exit {result.returncode}): {tail}")
    return seconds, tail[0] if tail else ""


def _round_robin(shards):
    listed = subprocess.run([*BASE[:3], "--collect-only", "-q", "-p", "no:cacheprovider"],
                            capture_output=True, text=True, check=True).stdout
    ids = [line for line in listed.splitlines() if "::" in line]
    return [ids[group::shards] for group in range(shards)]


def _shard_command(method, shards, group, groups):
    if method == "round-robin":
        return [*BASE, *groups[group - 1]]
    return [*BASE, f"--splits={shards}", f"--group={group}", f"--splitting-algorithm={method}"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.shards", description=__doc__.split("\n")[0])
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--method", default="least_duration",
                        choices=["least_duration", "duration_based_chunks", "round-robin"])
    args = parser.parse_args(argv)
    groups = _round_robin(args.shards) if args.method == "round-robin" else None
    whole, shards = [], [[] for _ in range(args.shards)]
    for repeat in range(1, args.repeats + 1):
        seconds, tail = _timed(BASE)
        whole.append(seconds)
        print(f"repeat {repeat}: whole run {seconds:6.1f} s   ({tail})", flush=True)
        for group in range(1, args.shards + 1):
            seconds, tail = _timed(_shard_command(args.method, args.shards, group, groups))
            shards[group - 1].append(seconds)
            print(f"repeat {repeat}: shard {group}/{args.shards} {seconds:6.1f} s   ({tail})",
                  flush=True)
    medians = [statistics.median(times) for times in shards]
    mean = statistics.mean(medians)
    print(f"\n{args.method}, {args.shards} shards, medians of {args.repeats}:")
    print(f"  whole run: {statistics.median(whole):.1f} s")
    print("  shards:    " + ", ".join(f"{m:.1f}" for m in medians) + " s")
    print(f"  sum of shards {sum(medians):.1f} s; slowest {max(medians):.1f} s; "
          f"balance (max / mean) {max(medians) / mean:.2f}")


if __name__ == "__main__":
    main()
