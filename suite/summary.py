"""What a run observed, for people: the registry's entries and the gate's summary.

During each test (in whichever process runs it, xdist worker or not) the
suite counts Hypothesis examples, keeps the worst error/bound ratio, the
registry entries that explained a finding and the calls a known crash kept
from being made; they travel to the controlling process on the test's report
(``report.conv2d_observations``, which xdist serialises like any report
attribute).  The controller adds them up per property family (test file),
prints every registry entry's state at the end of every run (present here, or
fixed: stale), and with ``--conv2d-summary=PATH`` writes a markdown summary
for a CI job summary.

Each example's worst error/bound ratio is given to ``hypothesis.target``, so
Hypothesis steers towards the examples closest to failing.
"""

import collections
import dataclasses
import functools
import platform
import re
from pathlib import Path

import pytest
from hypothesis import currently_in_test_context, target

from suite import registry

_current = None  # the Observations of the test running in this process, if any


@dataclasses.dataclass
class Observations:
    examples: int = 0
    worst_ratio: float = 0.0
    example_ratio: float = 0.0  # of the example in progress, for ``target``
    explained: list = dataclasses.field(default_factory=list)  # [entry id, descriptor]
    conformed: list = dataclasses.field(default_factory=list)  # condition held, no deviation
    not_run: list = dataclasses.field(default_factory=list)  # [crash entry id, descriptor]


def observe(finding):
    """Note a finding (called by ``suite.judge.require``)."""
    if _current is None:
        return
    if finding.ratio is not None:
        _current.worst_ratio = max(_current.worst_ratio, float(finding.ratio))
        _current.example_ratio = max(_current.example_ratio, float(finding.ratio))
    if finding.not_run is not None:
        _current.not_run.append([finding.not_run.id, str(finding.case)])
    if finding.deviation is not None:
        _current.explained.append([finding.deviation.id, str(finding.case)])
    if not finding.problems:
        _current.conformed += [[entry.id, str(finding.case)] for entry in finding.held]


def each_example(item, wrapper):
    """Run every Hypothesis example of ``item`` as ``wrapper(proceed, drawn)``.

    ``drawn`` holds the arguments Hypothesis drew (the test's keyword arguments
    that are not fixtures; the wrapper may replace them); ``proceed()`` runs the
    example with them.  It wraps ``test.hypothesis.inner_test``, which Hypothesis
    documents as replaceable; the wrapper keeps the inner test's name and
    source, so example generation and the database key are unchanged.
    Returns a context manager that restores the inner test.
    """
    return _EachExample(item, wrapper)


class _EachExample:
    def __init__(self, item, wrapper):
        self.handle = getattr(getattr(item, "obj", None), "hypothesis", None)
        self.fixtures, self.wrapper = set(item.fixturenames), wrapper

    def __enter__(self):
        if self.handle is None:
            return self
        inner, fixtures, wrapper = self.handle.inner_test, self.fixtures, self.wrapper
        self.inner = inner

        @functools.wraps(inner)
        def example(*args, **kwargs):
            drawn = {name: value for name, value in kwargs.items() if name not in fixtures}
            fixed = {name: value for name, value in kwargs.items() if name in fixtures}
            return wrapper(lambda: inner(*args, **fixed, **drawn), drawn)
        self.handle.inner_test = example
        return self

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.inner_test = self.inner


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
                 ("error model", str(config.error_model)),
                 ("call time limit", f"{config.getoption('conv2d_call_timeout'):g} s"),
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


def _stale(entry, status):
    """Whether the registry must hear of ``entry``: its recheck no longer shows it on the
    release and CPU it was recorded for."""
    return (status == registry.FIXED and entry.kind != "difference" and entry.recorded_here()
            and not entry.missing_cpu_features(registry.cpu_flags()))


def _release(entry):
    """"torch's" for torch's registry, "release's" for a kernel's own."""
    return "torch's" if entry.source == "torch" else "release's"


class SummaryPlugin:
    """pytest plugin: observe each test, add up per family, report at the end."""

    def __init__(self, config):
        self.config = config
        self.path = config.getoption("conv2d_summary")
        self.families = {}
        self.explained = collections.defaultdict(list)  # entry id -> [descriptors]
        self.conformed = collections.defaultdict(list)
        self.not_run = collections.defaultdict(list)

    # --- in the process that runs the test ---------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        global _current
        _current = Observations()
        with each_example(item, self._example):
            yield

    @staticmethod
    def _example(proceed, drawn):
        _current.examples += 1
        _current.example_ratio = 0.0
        result = proceed()
        if _current.example_ratio and currently_in_test_context():
            target(min(_current.example_ratio, 1e6), label="worst error/bound")
        return result

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        global _current
        outcome = yield
        if call.when == "call" and _current is not None:
            observed = dataclasses.asdict(_current)
            del observed["example_ratio"]
            outcome.get_result().conv2d_observations = observed
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
            for name in ("explained", "conformed", "not_run"):
                for entry_id, descriptor in observed[name]:
                    getattr(self, name)[entry_id].append(descriptor)

    def registry_lines(self):
        """One line per registry entry: present here (and what it explained or kept
        from running), fixed in this torch (stale), or not this torch's, CPU's or
        implementation's.  For an implementation other than torch's own conv2d,
        torch's entries that none of its calls met are one line: they are about torch
        (rechecked on its own conv2d), and it never handed them a call."""
        active = registry.active()
        impl = self.config.getoption("conv2d_impl")
        torch_itself = impl in (registry.TORCH_CONV2D, "eager")
        lines, unmet = [], collections.Counter()
        for entry in active.entries.values():
            status = active.status[entry.id]
            seen = self.explained.get(entry.id, []) or self.not_run.get(entry.id, [])
            if not torch_itself and entry.source == "torch" and not seen and (
                    entry.about_another_implementation(impl) or not _stale(entry, status)):
                unmet[status] += 1
                continue
            if entry.about_another_implementation(impl) and not seen:
                lines.append(f"not this implementation's: {entry.id} (recorded for "
                             f"--conv2d-impl={entry.implementation})")
                continue
            recorded = entry.recorded_here()
            if status == registry.FIXED and (entry.kind == "difference" or not recorded):
                lines.append(f"not this {_release(entry)}: {entry.id} (recorded for "
                             f"{entry.releases}; its recheck "
                             f"{active.details.get(entry.id, 'conforms')})")
                continue
            missing = entry.missing_cpu_features(registry.cpu_flags())
            if status == registry.FIXED and missing:
                lines.append(f"not this CPU's: {entry.id} (recorded on CPUs with {entry.cpu}; "
                             f"this one lacks {' '.join(missing)}; its recheck "
                             f"{active.details.get(entry.id, 'conforms')})")
                continue
            if status == registry.FIXED:
                lines.append(f"STALE {entry.id}: fixed in this {_release(entry)[:-2]} (its "
                             f"recheck {active.details.get(entry.id, 'conforms')}); measured: "
                             f"{entry.measured}")
                continue
            if status == registry.OUTSIDE:
                lines.append(f"outside the declared domain: {entry.id} (not rechecked: its "
                             f"recheck call is not the kernel's)")
                continue
            if status != registry.PRESENT:
                lines.append(f"unchecked {entry.id}")
                continue
            if not recorded:
                lines.append(f"PRESENT BEYOND ITS RECORD {entry.id}: recorded for "
                             f"{entry.releases}, its recheck shows it on this one")
            if entry.kind == "crash":
                lines.append(f"known crash {entry.id}: present; {len(seen)} call(s) not made, "
                             f"e.g. {seen[0] if seen else '-'}: {entry.observed}")
            elif seen:
                name = "version difference" if entry.kind == "difference" else "expected deviation"
                lines.append(f"{name} {entry.id}: present; {len(seen)} case(s), "
                             f"e.g. {seen[0]}: {entry.observed}")
            else:
                lines.append(f"present {entry.id}: its recheck shows it; no other case of this "
                             f"run met it")
            conformed = self.conformed.get(entry.id, [])
            if conformed:
                lines.append(f"  ({len(conformed)} case(s) in its region conformed, e.g. "
                             f"{conformed[0]})")
        if unmet:
            import torch
            lines.insert(0, f"torch's entries that no call of --conv2d-impl={impl} met: "
                            f"{sum(unmet.values())} (rechecked on torch {torch.__version__}: "
                            f"{unmet[registry.PRESENT]} present there, "
                            f"{sum(unmet.values()) - unmet[registry.PRESENT]} not this torch's, "
                            f"CPU's or implementation's)")
        return lines

    def pytest_terminal_summary(self, terminalreporter):
        if hasattr(self.config, "workerinput") or not self.families:
            return  # a worker, or no test ran (e.g. --collect-only)
        if not any(family.examples for family in self.families.values()):
            return  # no property judged a case (e.g. -m selfcheck): nothing to say about torch
        import torch
        terminalreporter.write_sep("=", f"conv2d registry of torch's known behaviour "
                                        f"(torch {torch.__version__})")
        for line in self.registry_lines():
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
        lines += ["", "### Known behaviour of torch (tests/known_deviations.toml)", ""]
        lines += [f"- {line}" for line in self.registry_lines()] or ["- no entries"]
        lines += ["", "### Environment", "", "| | |", "|---|---|"]
        lines += [f"| {name} | `{value}` |" for name, value in environment(self.config)]
        return "\n".join(lines) + "\n"
