"""How long the fuzzing campaign takes to find a planted bug, and where the time goes.

    python -m bench.fuzz_time [--repeats 5] [--seconds 150]

Each repeat copies the working tree to a fresh folder (what a clone has) and
runs, there, what the scale test runs (tests/meta/test_scale_out.py):
``python -m suite.fuzz`` on the exact-tier forward property against a conv2d
that is wrong for batched calls with 3 groups, with a directory database.  It
watches that database, through Hypothesis's own ``fetch``, and splits the
command's wall time into:

- ``collect``: the campaign's own collection, up to starting HypoFuzz;
- ``hypofuzz``: HypoFuzz's hub and worker collecting, up to the worker's first
  write to the database;
- ``search``: up to the first failing input HypoFuzz saves (unshrunk, under
  Hypothesis's secondary key);
- ``shrink``: up to the shrunk failure under pytest's key, which is what the
  campaign waits for (HypoFuzz shrinks, then explains, before it saves);
- ``found``: what the campaign reports (HypoFuzz's start to the saved
  failure: the scale test's "seconds fuzzing until found");
- ``wall``: the whole command, with the closing gate run.

Then the median and the maximum of each over the repeats.  The times are wall
times: the load average is printed with each repeat, since other work on the
machine counts in full.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.internal.reflection import function_digest

from tests import test_forward_values
from tests.meta.test_scale_out import COMMON_BUG, EXACT, _fresh_checkout

PHASES = ("collect", "hypofuzz", "search", "shrink", "found", "wall")
SECONDARY = b".secondary"  # Hypothesis's key suffix for failures not yet shrunk


def _watch(command, cwd, database, key):
    """Run ``command``; the monotonic times of its events, relative to its start."""
    started = time.monotonic()
    seen = {}
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)

    def read():
        for line in process.stdout:
            if "  fuzzing " in line:
                seen.setdefault("hypofuzz started", time.monotonic() - started)
            if "found a failure" in line:
                seen["campaign line"] = line.strip()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    db = DirectoryBasedExampleDatabase(database)
    while process.poll() is None:
        if database.is_dir() and any(database.iterdir()):
            seen.setdefault("worker wrote", time.monotonic() - started)
        if list(db.fetch(key + SECONDARY)):
            seen.setdefault("unshrunk", time.monotonic() - started)
        if list(db.fetch(key)):
            seen.setdefault("shrunk", time.monotonic() - started)
        time.sleep(0.1)
    reader.join(timeout=10)
    seen["end"] = time.monotonic() - started
    return process.returncode, seen


def _phases(seen):
    """Seconds per phase (None where the event never came)."""
    def between(first, last):
        if first in seen and last in seen:
            return round(seen[last] - seen[first], 1)
        return None
    seen = {"start": 0.0, **seen}
    return {"collect": between("start", "hypofuzz started"),
            "hypofuzz": between("hypofuzz started", "worker wrote"),
            "search": between("worker wrote", "unshrunk"),
            "shrink": between("unshrunk", "shrunk"),
            "found": between("hypofuzz started", "shrunk"),
            "wall": between("start", "end")}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_time",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=150,
                        help="the campaign's duration (default: the scale test's 150)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.seconds <= 0:
        parser.error("--repeats and --seconds must be positive")
    key = function_digest(test_forward_values.test_conv2d_is_bitwise_exact_on_integer_data
                          .hypothesis.inner_test)
    rows = []
    for repeat in range(1, args.repeats + 1):
        with tempfile.TemporaryDirectory() as folder:
            checkout = _fresh_checkout(Path(folder))
            load = os.getloadavg()[0]
            code, seen = _watch([sys.executable, "-m", "suite.fuzz", "--seconds",
                                 str(args.seconds), "--example-db=dir:fuzz-db",
                                 f"--conv2d-impl={COMMON_BUG}", "--report=report", EXACT],
                                checkout, checkout / "fuzz-db", key)
        row = _phases(seen)
        rows.append(row)
        print(json.dumps({"repeat": repeat, "load_average": round(load, 1), "exit": code,
                          **row}), flush=True)
    print("\nseconds, median / max over", len(rows), "repeats:")
    for phase in PHASES:
        values = [row[phase] for row in rows if row[phase] is not None]
        missing = len(rows) - len(values)
        summary = (f"{statistics.median(values):.1f} / {max(values):.1f}" if values else "never")
        print(f"  {phase:9s} {summary}" + (f"  (missing in {missing})" if missing and values
                                           else ""))


if __name__ == "__main__":
    main()
