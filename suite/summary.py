"""What a run observed, for people: known deviations and the gate's summary.

During each test (in whichever process runs it, xdist worker or not) the
suite counts Hypothesis examples, keeps the worst error/bound ratio and the
known deviations met; they travel to the controlling process on the test's
report (``report.conv2d_observations``, which xdist serialises like any
report attribute).  The controller adds them up per property family (test
file), prints the known deviations at the end of every run, and with
``--conv2d-summary=PATH`` writes a markdown summary for a CI job summary.
"""

import contextlib
import dataclasses
import functools
import platform
import re
from pathlib import Path

import pytest

from suite import deviations

_current = None  # the Observations of the test running in this process, if any


@dataclasses.dataclass
class Observations:
    examples: int = 0
    worst_ratio: float = 0.0
    deviations: list = dataclasses.field(default_factory=list)  # [id, status, descriptor]


def observe_ratio(ratio):
    """An element's error/bound ratio (called by the value checks)."""
    if _current is not None:
        _current.worst_ratio = max(_current.worst_ratio, float(ratio))


def observe_deviation(deviation, status, case):
    """``status``: 'deviated' (expected deviation) or 'conformed' (condition met, no deviation)."""
    if _current is not None:
        _current.deviations.append([deviation.id, status, str(case)])


@contextlib.contextmanager
def each_example(item, before):
    """Run ``before(drawn)`` ahead of each Hypothesis example of ``item``.

    ``drawn`` holds the arguments Hypothesis drew (the test's keyword
    arguments that are not fixtures).  It wraps ``test.hypothesis.inner_test``,
    which Hypothesis documents as replaceable; the wrapper keeps the inner
    test's name and source, so example generation and the database key are
    unchanged.
    """
    handle = getattr(getattr(item, "obj", None), "hypothesis", None)
    if handle is None:
        yield
        return
    inner, fixtures = handle.inner_test, set(item.fixturenames)

    @functools.wraps(inner)
    def example(*args, **kwargs):
        before({name: value for name, value in kwargs.items() if name not in fixtures})
        return inner(*args, **kwargs)
    handle.inner_test = example
    try:
        yield
    finally:
        handle.inner_test = inner


def _onednn_version(torch):
    """oneDNN's version from torch's build configuration: it decides CPU float32 results."""
    found = re.search(r"MKL-DNN (v[\d.]+)", torch.__config__.show())
    return found[1] if found else "version unknown"


def environment(config=None):
    """(name, value) rows naming what ran: torch's build and backends, the suite's options."""
    import hypothesis
    import numpy
    import torch
    rows = [("python", f"{platform.python_version()} ({platform.platform()})"),
            ("torch", f"{torch.__version__} (git {torch.version.git_version[:12]}, "
                      f"debug={torch.version.debug})"),
            ("CUDA / cuDNN", f"{torch.version.cuda} / "
                             f"{torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None}"),
            ("mkldnn (oneDNN)", f"{_onednn_version(torch)}, available="
                                f"{torch.backends.mkldnn.is_available()}, "
                                f"enabled={torch.backends.mkldnn.enabled}"),
            ("TF32 (cudnn conv / matmul)", f"{torch.backends.cudnn.allow_tf32} / "
                                           f"{torch.backends.cuda.matmul.allow_tf32}"),
            ("hypothesis / numpy", f"{hypothesis.__version__} / {numpy.__version__}")]
    if config is not None:
        rows += [("hypothesis profile", hypothesis.settings.get_current_profile_name()),
                 ("conv2d under test", config.getoption("conv2d_impl")),
                 ("device", config.getoption("device")),
                 ("command", " ".join(["pytest", *config.invocation_params.args]))]
    return rows


@dataclasses.dataclass
class Family:
    """The tallies of one property family (one test file)."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    examples: int = 0
    worst_ratio: float = 0.0


class SummaryPlugin:
    """pytest plugin: observe each test, add up per family, report at the end."""

    def __init__(self, config):
        self.config = config
        self.path = config.getoption("conv2d_summary")
        self.families = {}
        self.deviations = {}  # id -> {"deviated": [descriptors], "conformed": [...]}

    # --- in the process that runs the test ---------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        global _current
        _current = Observations()
        with each_example(item, self._count_example):
            yield

    @staticmethod
    def _count_example(drawn):
        _current.examples += 1

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        global _current
        outcome = yield
        if call.when == "call" and _current is not None:
            outcome.get_result().conv2d_observations = dataclasses.asdict(_current)
            _current = None

    # --- in the controlling process ----------------------------------------

    def pytest_runtest_logreport(self, report):
        if hasattr(self.config, "workerinput"):
            return  # xdist worker: the controller adds up
        family = self.families.setdefault(report.nodeid.split("::")[0], Family())
        if report.when == "call" or report.outcome != "passed":
            family.passed += report.when == "call" and report.passed
            family.failed += report.failed
            family.skipped += report.skipped
        observed = getattr(report, "conv2d_observations", None)
        if observed:
            family.examples += observed["examples"]
            family.worst_ratio = max(family.worst_ratio, observed["worst_ratio"])
            for entry, status, descriptor in observed["deviations"]:
                self.deviations.setdefault(entry, {"deviated": [], "conformed": []})[
                    status].append(descriptor)

    def deviation_lines(self):
        """One line per known deviation of this torch: seen, fixed, or not reached."""
        import torch
        lines = []
        for deviation in deviations.applicable(torch.__version__):
            seen = self.deviations.get(deviation.id, {"deviated": [], "conformed": []})
            deviated, conformed = seen["deviated"], seen["conformed"]
            if deviated:
                lines.append(f"expected deviation {deviation.id}: {len(deviated)} case(s), e.g. "
                             f"{deviated[0]}: {deviation.observed}")
            if conformed:
                lines.append(f"STALE? {deviation.id}: its condition held for {len(conformed)} "
                             f"case(s) that conformed, e.g. {conformed[0]}: torch may have fixed "
                             f"it; review the entry in {deviations.KNOWN_DEVIATIONS.name}")
            if not deviated and not conformed:
                lines.append(f"unmatched {deviation.id}: no case in this run matched it")
        return lines

    def pytest_terminal_summary(self, terminalreporter):
        if hasattr(self.config, "workerinput") or not self.families:
            return  # a worker, or no test ran (e.g. --collect-only)
        if not any(family.examples for family in self.families.values()):
            return  # no property judged a case (e.g. -m selfcheck): nothing to say about torch
        import torch
        terminalreporter.write_sep("=", f"conv2d known deviations (torch {torch.__version__})")
        for line in self.deviation_lines():
            terminalreporter.write_line(line)
        if self.path:
            terminalreporter.write_line(f"conv2d summary written to {self.path}")

    def pytest_sessionfinish(self, session, exitstatus):
        if self.path and not hasattr(self.config, "workerinput"):
            Path(self.path).write_text(self.markdown(exitstatus))

    def markdown(self, exitstatus):
        import torch
        passed = sum(family.passed for family in self.families.values())
        failed = sum(family.failed for family in self.families.values())
        verdict = "passed" if exitstatus == 0 else f"FAILED (pytest exit status {int(exitstatus)})"
        lines = [f"## conv2d conformance gate: torch {torch.__version__} {verdict}", "",
                 f"{passed} passed, {failed} failed.", "",
                 "| property family | passed | failed | skipped | examples run | worst error/bound |",
                 "|---|---:|---:|---:|---:|---:|"]
        for name, family in sorted(self.families.items()):
            ratio = f"{family.worst_ratio:.3g}" if family.worst_ratio else "-"
            lines.append(f"| `{name}` | {family.passed} | {family.failed} | {family.skipped} | "
                         f"{family.examples} | {ratio} |")
        lines += ["", "### Known deviations", ""]
        lines += [f"- {line}" for line in self.deviation_lines()] or ["- none apply"]
        lines += ["", "### Environment", "", "| | |", "|---|---|"]
        lines += [f"| {name} | `{value}` |" for name, value in environment(self.config)]
        return "\n".join(lines) + "\n"
