"""A call that kills its test process, or hangs, is named: its descriptor and Replay line.

When the implementation kills an xdist worker (a segfault, an abort) or a
call outlives ``--conv2d-call-timeout`` (the watchdog of suite/monitor.py
ends the worker), xdist reports only "worker crashed while running <test>".
Each worker therefore writes the descriptor of the call it is about to make
to a file of its own; the controller reads the dead worker's file and adds
the call, crash or hang, and its ``Replay:`` command to the report, and xdist
starts a new worker so the run goes on.  Without xdist the crash or hang ends
the run (the watchdog's last line names the call).
"""

import shutil
import tempfile
from pathlib import Path

import pytest

from case import parse
from suite import monitor, run


class CrashNames:
    """pytest plugin: call files and time limits in the workers, reports in the controller."""

    def __init__(self, config, replay_notes):
        self.config, self.replay_notes = config, replay_notes
        limit = config.getoption("conv2d_call_timeout")
        if limit <= 0:
            raise pytest.UsageError(f"--conv2d-call-timeout={limit:g}: must be > 0 seconds")
        if hasattr(config, "workerinput"):
            run.monitor_calls(config.workerinput["conv2d_call_log"], limit)
            self.folder = None
            return
        self.folder = Path(tempfile.mkdtemp(prefix="conv2d-calls-"))
        try:
            workers = config.getoption("numprocesses")
        except ValueError:  # xdist is not loaded
            workers = None
        if not workers:
            run.monitor_calls(self.folder / "main.txt", limit)

    def pytest_report_header(self, config):
        if self.folder is not None:
            return [f"conv2d calls are named in {self.folder} (a call that kills its process or "
                    f"outlives {config.getoption('conv2d_call_timeout'):g} s is reported)"]

    def pytest_unconfigure(self, config):
        run.monitor_calls(None)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        node.workerinput["conv2d_call_log"] = str(self.folder / f"{node.gateway.id}.txt")

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem, report, sched):
        text, limit = monitor.read(self.folder / f"{report.node.gateway.id}.txt")
        if not text:
            report.longrepr = f"{report.longrepr}\n(no conv2d call was in progress)"
            return
        what = (f"did not return within {limit:g} s (a hang)" if limit is not None
                else "killed it")
        try:
            case = parse(text)
        except ValueError:
            report.longrepr = f"{report.longrepr}\nthe call in progress {what}: conv2d({text})"
            return
        report.longrepr = (f"{report.longrepr}\nthe call in progress {what}: conv2d({case})\n"
                           f"Replay: {self.replay_notes.command(case)}")
