"""A fuzzing campaign: HypoFuzz on the suite's properties, against a shared database.

    python -m suite.fuzz --minutes 60 --example-db=redis://HOST:6379/0 --report=fuzz-report

runs HypoFuzz (``pip install -e ".[fuzz]"``) on every property HypoFuzz can
fuzz (or on the node ids given), one HypoFuzz process per property and one
property per core at a time, in turns of ``--slice`` seconds, until the time
is up.  A property leaves the rotation as soon as its failure is in the
database, and one that already had a failure saved there when the campaign
started is not fuzzed again.  HypoFuzz saves what it finds in the example
database (``--example-db``, as for pytest; default ``local``), under the keys
pytest reads (suite/fuzz_plugin.py), so that:

- the campaign's report ends with a pull-request run of the fuzzed
  properties (``ci`` profile, the same database, read-only): a failure the
  fuzzer found fails there first, with its ``Replay:`` line;
- any later run that reads the same database (a pull request on another
  machine, a developer's ``pytest``) retries it first too.

The campaign's sessions (its own collection, each HypoFuzz process and the
worker it forks, the closing run) share one recheck of the registry: the
first makes it and saves it in the report folder as ``registry-status.json``
(``--conv2d-registry-status``, suite/shared_recheck.py), the others read it.
Each would otherwise recheck the same implementation with the same options,
and in HypoFuzz's processes that was more than half of their start.

The report folder gets ``report.md`` (per property: turns, seconds, inputs
and behaviours HypoFuzz counted, the verdict, and the Replay lines),
``junit.xml`` and ``summary.md`` of the closing run, ``closing-run.txt`` (its
output, with Hypothesis's statistics: a failure replayed from the database
shows in the reuse phase), ``registry-status.json``, and one HypoFuzz log per
turn.  Exit status: 0 every property passed the closing run, 1 some failed,
2 usage error.

Machines: start the same command on each, with the same ``--example-db``
(Redis); each fuzzes with its own cores and all of them share what they find.
"""

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "suite.fuzz_plugin"
MIN_SLICE = 60.0
REGISTRY_STATUS = "registry-status.json"  # the campaign's one recheck of the registry


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m suite.fuzz",
        description="Fuzz the suite's properties with HypoFuzz for a set time, against a "
                    "(shared) example database, and report what a pull-request run then says.")
    duration = parser.add_mutually_exclusive_group(required=True)
    duration.add_argument("--minutes", type=float, help="how long the campaign runs")
    duration.add_argument("--seconds", type=float, help="how long the campaign runs")
    parser.add_argument("--example-db", default="local", metavar="SPEC",
                        help="the example database, as for pytest: local (default), dir:PATH, "
                             "redis://HOST:PORT/DB; it must be writable (not github:)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="HypoFuzz processes at a time (default: one per core)")
    parser.add_argument("--slice", type=float, default=None, metavar="SECONDS",
                        help="one turn of one property (default: the whole campaign when "
                             "every property has a core, else its fair share, at least "
                             f"{MIN_SLICE:.0f} s)")
    parser.add_argument("--report", default="fuzz-report", metavar="DIR",
                        help="folder for report.md, junit.xml, summary.md and logs "
                             "(default: fuzz-report)")
    parser.add_argument("--conv2d-impl", default=None, metavar="MODULE:ATTR",
                        help="the conv2d under test, as for pytest")
    parser.add_argument("--device", default=None, help="as for pytest")
    parser.add_argument("properties", nargs="*", metavar="NODEID",
                        help="node ids or files to fuzz (default: every property in tests/)")
    return parser


def _pytest_options(args):
    """The options of every pytest session the campaign starts: the same database and
    implementation, and one recheck of the registry for all (suite/shared_recheck.py)."""
    options = [f"--example-db={args.example_db}",
               f"--conv2d-registry-status={args.registry_status}"]
    if args.conv2d_impl:
        options.append(f"--conv2d-impl={args.conv2d_impl}")
    if args.device:
        options.append(f"--device={args.device}")
    return options


def _collect(args):
    """HypoFuzz's own collection (what it can fuzz, and why not the rest), in this
    process: returns (targets, skipped reasons, the database as the fuzzers see it)."""
    try:
        from hypofuzz.collection import collect_tests
    except ImportError:
        sys.exit('python -m suite.fuzz: error: HypoFuzz is not installed: pip install -e ".[fuzz]"')
    from hypothesis import settings
    try:
        collection = collect_tests(["-p", PLUGIN, "-p", "no:cacheprovider",
                                    "--hypothesis-profile=nightly", *_pytest_options(args),
                                    *(args.properties or ["tests"])])
    except SystemExit as stop:  # HypoFuzz has printed pytest's one-line error
        sys.exit(2 if stop.code not in (0, None) else 0)
    return collection.fuzz_targets, collection.not_collected, settings.default.database


def _hypofuzz_command(args, nodeid):
    script = Path(sys.executable).with_name("hypothesis")
    launcher = [str(script)] if script.exists() else [
        sys.executable, "-c", "from hypothesis.extra.cli import main; main()"]
    return [*launcher, "fuzz", "--no-dashboard", "-n", "1", "--",
            "-p", PLUGIN, "-p", "no:cacheprovider", "--hypothesis-profile=nightly",
            *_pytest_options(args), nodeid]


def _stop(process):
    """SIGINT to the HypoFuzz process group we started, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGINT, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _has_failure(database, target):
    return bool(list(database.fetch(target.database_key)))


def _campaign(args, targets, database, report):
    """Run the turns; returns per-nodeid {'turns', 'seconds', 'found', 'known'}."""
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    workers = max(1, args.workers)
    state = {t.nodeid: {"turns": 0, "seconds": 0.0, "found": False, "known": False}
             for t in targets}
    queue = collections.deque()
    for target in targets:
        if _has_failure(database, target):
            state[target.nodeid]["known"] = True
        else:
            queue.append(target)
    if args.slice is not None:
        turn = args.slice
    elif len(queue) <= workers:
        turn = seconds
    else:
        turn = max(MIN_SLICE, seconds * workers / len(queue))
    start = time.monotonic()
    deadline = start + seconds
    running = {}  # target -> (process, started, ends)
    logs = report / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"fuzzing {len(queue)} properties for {seconds:.0f} s on {workers} processes, "
          f"turns of {min(turn, seconds):.0f} s", flush=True)
    try:
        while (queue or running) and time.monotonic() < deadline:
            while queue and len(running) < workers:
                target = queue.popleft()
                entry = state[target.nodeid]
                entry["turns"] += 1
                name = target.nodeid.replace("/", "_").replace("::", "__")
                log = open(logs / f"{name}.{entry['turns']}.log", "w")
                process = subprocess.Popen(_hypofuzz_command(args, target.nodeid), cwd=ROOT,
                                           stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)
                log.close()
                now = time.monotonic()
                running[target] = (process, now, min(deadline, now + turn))
                print(f"  fuzzing {target.nodeid} (turn {entry['turns']})", flush=True)
            time.sleep(0.5)
            for target, (process, started, ends) in list(running.items()):
                found = _has_failure(database, target)
                exited = process.poll()
                if found or exited is not None or time.monotonic() >= ends:
                    _stop(process)
                    del running[target]
                    entry = state[target.nodeid]
                    entry["seconds"] += time.monotonic() - started
                    entry["found"] = found or _has_failure(database, target)
                    if entry["found"]:
                        print(f"  found a failure: {target.nodeid} after "
                              f"{entry['seconds']:.0f} s", flush=True)
                    elif exited is not None:
                        # HypoFuzz stopped by itself without a saved failure (a
                        # crash, or a failure it could not save): see its log.
                        entry["exited"] = exited
                        print(f"  HypoFuzz exited ({exited}) on {target.nodeid}: see "
                              f"{logs}", flush=True)
                    else:
                        queue.append(target)
    finally:
        for target, (process, started, _) in running.items():
            _stop(process)
            state[target.nodeid]["seconds"] += time.monotonic() - started
            state[target.nodeid]["found"] = _has_failure(database, target)
    return state, time.monotonic() - start


def _hypofuzz_counts(database, target):
    """(inputs, behaviours) from HypoFuzz's own reports in the database."""
    try:
        from hypofuzz.database import HypofuzzDatabase
        reports = HypofuzzDatabase(database).reports.fetch(target.database_key)
    except Exception:  # the numbers are a courtesy; the verdict is the closing run's
        return None, None
    latest = {}  # each worker's reports are cumulative: keep its newest
    for report in reports:
        newest = latest.get(report.worker_uuid)
        if newest is None or report.elapsed_time > newest.elapsed_time:
            latest[report.worker_uuid] = report
    if not latest:
        return 0, 0
    inputs = sum(sum(r.status_counts.values()) for r in latest.values())
    return inputs, max(r.behaviors for r in latest.values())


def _closing_run(args, nodeids, report):
    """The fuzzed properties as a pull request would run them, with the same database."""
    parallel = ["-n", "auto"] if len(nodeids) > 4 else ["-p", "no:xdist"]
    command = [sys.executable, "-m", "pytest", *parallel, "-p", "no:cacheprovider", "-q",
               "-rf", "--tb=short", "--hypothesis-profile=ci", "--hypothesis-show-statistics",
               *_pytest_options(args),
               f"--junitxml={report / 'junit.xml'}", f"--conv2d-summary={report / 'summary.md'}",
               *nodeids]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    (report / "closing-run.txt").write_text(output)
    verdicts = {}
    try:
        for case in ElementTree.parse(report / "junit.xml").iter("testcase"):
            path = case.get("file") or case.get("classname", "").replace(".", "/") + ".py"
            nodeid = f"{path}::{case.get('name')}"
            failed = case.find("failure") is not None or case.find("error") is not None
            skipped = case.find("skipped") is not None
            verdicts[nodeid] = "FAILED" if failed else "skipped" if skipped else "passed"
    except (OSError, ElementTree.ParseError):
        pass
    replays = sorted({line.strip() for line in output.splitlines()
                      if line.startswith("Replay: ")})
    return result.returncode, verdicts, replays, command


def _write_report(args, report, targets, skipped, state, elapsed, database, closing):
    import hypothesis
    import hypofuzz
    code, verdicts, replays, command = closing
    lines = ["# Fuzzing campaign", "",
             f"- HypoFuzz {hypofuzz.__version__}, Hypothesis {hypothesis.__version__}; "
             f"{args.workers} processes for {elapsed:.0f} s",
             f"- example database: `{args.example_db}` ({database!r})",
             f"- conv2d under test: `{args.conv2d_impl or 'torch.nn.functional:conv2d'}`",
             f"- closing run (a pull request with this database): `{' '.join(command[1:])}`, "
             f"exit status {code}", "",
             "| property | turns | seconds | inputs | behaviours | failure | closing run |",
             "|---|---:|---:|---:|---:|---|---|"]
    for target in targets:
        entry = state[target.nodeid]
        inputs, behaviours = ("" if n is None else n for n in _hypofuzz_counts(database, target))
        failure = ("saved before the campaign" if entry["known"]
                   else "found" if entry["found"]
                   else f"HypoFuzz exited ({entry['exited']}), see logs" if "exited" in entry
                   else "none found")
        lines.append(f"| `{target.nodeid}` | {entry['turns']} | {entry['seconds']:.0f} | "
                     f"{inputs} | {behaviours} | "
                     f"{failure} | {verdicts.get(target.nodeid, 'not run')} |")
    if replays:
        lines += ["", "## Replay", "", *(f"    {line}" for line in replays)]
    if skipped:
        lines += ["", "## Not fuzzed (HypoFuzz's reasons)", ""]
        lines += [f"- `{nodeid}`: {json.dumps(reason, default=str)[:200]}"
                  for nodeid, reason in skipped.items()]
    (report / "report.md").write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.example_db.startswith("github:") or args.example_db == "none":
        parser.error(f"--example-db={args.example_db}: the fuzzer needs a database it can write")
    if (args.seconds if args.seconds is not None else args.minutes * 60) <= 0:
        parser.error("the campaign needs a positive duration")
    if args.workers < 1 or (args.slice is not None and args.slice <= 0):
        parser.error("--workers and --slice must be positive")
    report = Path(args.report).resolve()
    if report.exists():
        shutil.rmtree(report)
    report.mkdir(parents=True)
    args.registry_status = report / REGISTRY_STATUS
    targets, skipped, database = _collect(args)
    if not targets:
        parser.error("HypoFuzz found no property to fuzz in the selection")
    state, elapsed = _campaign(args, targets, database, report)
    closing = _closing_run(args, [t.nodeid for t in targets], report)
    _write_report(args, report, targets, skipped, state, elapsed, database, closing)
    print(f"report: {report / 'report.md'}")
    return 1 if closing[0] == 1 else 0 if closing[0] == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
