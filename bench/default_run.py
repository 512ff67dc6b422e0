"""Wall time and peak memory of the default run, on a clean clone.

Clones the repository's HEAD into a temporary directory (no example
database, no caches, no build outputs) and runs the README's test command
there, ``pytest -n auto`` with ``CI=true`` (the ``ci`` profile), with this
Python (which must have the suite's dependencies).  Per run it reports the
wall time, the CPU time of pytest and its workers, the peak resident memory
of the largest of those processes (``ru_maxrss`` of the waited-for children:
the worst worker or the controller) and the load average before and after,
since a shared machine's other load slows a run down.  Issue targets: 60 s
wall on 2 cores, 1 GB per worker.  Run from the repository root:

    python -m bench.default_run [--repeat N] [--keep]

Reports medians over the repeats.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def clean_clone(into):
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(into)], check=True)
    return into


def one_run(clone):
    """(wall s, CPU s, peak RSS MiB, exit code, load before, load after, last line)."""
    env = dict(os.environ, CI="true")
    env.pop("PYTEST_ADDOPTS", None)
    before = os.getloadavg()[0]
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-n", "auto", "-q",
                             "-p", "no:cacheprovider"], cwd=clone, env=env,
                            capture_output=True, text=True)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    summary = next((line for line in reversed(lines) if " in " in line and (
        "passed" in line or "failed" in line)), lines[-1] if lines else "")
    return (wall, cpu, usage.ru_maxrss / 1024, result.returncode, before, os.getloadavg()[0],
            summary)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="conv2d-default-run-"))
    try:
        clone = clean_clone(work / "clone")
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone,
                              capture_output=True, text=True).stdout.strip()
        print(f"clean clone of {head}, {os.cpu_count()} cores, python {sys.version.split()[0]}\n")
        print("| run | wall (s) | CPU (s) | peak RSS of one process (MiB) | exit | "
              "load before | load after | pytest |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        runs = []
        for number in range(1, options.repeat + 1):
            runs.append(one_run(clone))
            wall, cpu, rss, code, before, after, summary = runs[-1]
            print(f"| {number} | {wall:.1f} | {cpu:.1f} | {rss:.0f} | {code} | {before:.1f} | "
                  f"{after:.1f} | {summary.strip('= ')} |", flush=True)
        if len(runs) > 1:
            print(f"| median | {statistics.median(r[0] for r in runs):.1f} | "
                  f"{statistics.median(r[1] for r in runs):.1f} | "
                  f"{statistics.median(r[2] for r in runs):.0f} | | | | |")
    finally:
        if options.keep:
            print(f"\nclone kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
