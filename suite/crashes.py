"""A call that kills its test process is named: its descriptor and Replay line.

When the implementation kills an xdist worker (a segfault, an abort), xdist
reports only "worker crashed while running <test>".  Each worker therefore
writes the descriptor of the call it is about to make to a file of its own
(suite/run.py's call log); the controller reads the dead worker's file and
adds the call and its ``Replay:`` command to the crash report.  Without
xdist the crash ends the run: the call is then in the log file the header
names.
"""

import shutil
import tempfile
from pathlib import Path

import pytest

from case import parse
from suite import run


class CrashNames:
    """pytest plugin: call logs in the workers, crash reports in the controller."""

    def __init__(self, config, replay_notes):
        self.config, self.replay_notes = config, replay_notes
        if hasattr(config, "workerinput"):
            run.log_calls_to(config.workerinput["conv2d_call_log"])
            self.folder = None
        else:
            self.folder = Path(tempfile.mkdtemp(prefix="conv2d-calls-"))
            try:
                workers = config.getoption("numprocesses")
            except ValueError:  # xdist is not loaded
                workers = None
            if not workers:
                run.log_calls_to(self.folder / "main.txt")

    def pytest_report_header(self, config):
        if self.folder is not None:
            return [f"conv2d call in progress, should a call kill the process: {self.folder}"]

    def pytest_unconfigure(self, config):
        run.log_calls_to(None)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        node.workerinput["conv2d_call_log"] = str(self.folder / f"{node.gateway.id}.txt")

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem, report, sched):
        log = self.folder / f"{report.node.gateway.id}.txt"
        text = log.read_text().strip() if log.exists() else ""
        if not text:
            report.longrepr = f"{report.longrepr}\n(no conv2d call was in progress)"
            return
        try:
            case = parse(text)
        except ValueError:
            report.longrepr = f"{report.longrepr}\nthe call in progress: conv2d({text})"
            return
        report.longrepr = (f"{report.longrepr}\nthe call in progress killed it: conv2d({case})\n"
                           f"Replay: {self.replay_notes.command(case)}")
