"""Replay one case, by its descriptor, against any conv2d: the reproduction command.

    python -m suite.replay 'in1x1x3x3:w1x1x2x2:s1:p0:d1:g1:float32:contiguous:exact:seed0' \\
        --conv2d-impl=MODULE:ATTR --device=cpu [--property=NODEID]

It needs neither Hypothesis's example database nor a particular Hypothesis
version: the descriptor holds the whole case, its data included (a seed).
It prints the call, what the specification expects and what the
implementation did (shape, dtype, memory format, the worst element, the
error/bound ratio) and a verdict.  With ``--property`` it also runs that
property (a pytest node id) on this one case.

Exit status: 0 the implementation conforms (or shows a known deviation,
tests/known_deviations.toml); 1 it does not; 2 the command cannot run (a
malformed descriptor, an unknown implementation or device, a case whose data
cannot be built, a property that cannot take the case), with a one-line error.

Every failing property prints ``Replay: <this command>`` for its final
(shrunk) example: ``ReplayNotes`` notes it through Hypothesis, for the drawn
``case`` (with ``--property``) or, in properties that draw something else,
for the first case handed to ``suite.verdict.call``.  The regression corpus
(tests/corpus.txt) is replayed the same way on every run.
"""

import argparse
import dataclasses
import inspect
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import currently_in_test_context, note

from case import Conv2dCase, DescriptorError
from reference import ConvArgumentError
from suite import deviations, summary
from suite.device import (DEVICES, FLAG_DEFAULTS, FLAG_HELP, SWITCHES, DeviceError, apply_flags,
                          check_device, tf32_in_effect)
from suite.implementation import DEFAULT, ImplementationError, load_implementation
from suite.verdict import (Tolerance, as_numpy, call, discrepancy, expected_output,
                           output_memory_format, rounding_bound, suggests_channels_last)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus.txt"
CONFORMS, FAILS, CANNOT_RUN = 0, 1, 2


def _quoted(text):
    """``text`` in single quotes for a POSIX shell."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def command(case, spec=DEFAULT, device="cpu", property=None, flags=()):
    """The shell command that replays ``case``; ``flags``: non-default (option, value) pairs."""
    words = ["python -m suite.replay", _quoted(str(case)), f"--conv2d-impl={_quoted(spec)}",
             f"--device={device}"]
    words += [f"--{name.replace('_', '-')}={value}" for name, value in flags]
    if property:
        words.append(f"--property={_quoted(property)}")
    return " ".join(words)


# --- the Replay line of failing properties ---------------------------------

_pending = None  # (plugin, item) while an example has not noted its Replay line


def note_call(case):
    """Called by ``suite.verdict.call``: note the replay of the first case an
    example hands to the implementation, if the example drew no ``case``."""
    global _pending
    if _pending is not None and currently_in_test_context():
        plugin, _ = _pending
        _pending = None
        note(f"Replay: {plugin.command(case)}")


def replay_lines(error):
    """The ``Replay: `` lines in an exception's message and notes (groups included)."""
    texts = [str(error), *getattr(error, "__notes__", ())]
    lines = [line.strip() for text in texts for line in text.splitlines()
             if line.strip().startswith("Replay: ")]
    for inner in getattr(error, "exceptions", ()):
        lines += replay_lines(inner)
    return lines


class ReplayNotes:
    """pytest plugin: each failing example notes ``Replay: <command>``.

    Hypothesis prints notes only for the final (shrunk) example, inside the
    failure report, so the line reaches the terminal, JUnit XML and xdist's
    controller with the rest of the failure.
    """

    def __init__(self, config):
        self.spec = config.getoption("conv2d_impl")
        self.device = config.getoption("device")
        self.flags = [(name, config.getoption(name)) for name, default in FLAG_DEFAULTS.items()
                      if config.getoption(name) != default]

    def command(self, case, property=None):
        return command(case, self.spec, self.device, property, self.flags)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        global _pending
        with summary.each_example(item, lambda drawn: self._example(item, drawn)):
            yield
        _pending = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        """Repeat the Replay lines of a failure in a section of their own, where
        they start the line (in the traceback pytest prefixes them with ``E``)."""
        outcome = yield
        report = outcome.get_result()
        lines = replay_lines(call.excinfo.value) if report.failed and call.excinfo else []
        if lines:
            report.sections.append(("Replay", "\n".join(dict.fromkeys(lines))))

    def _example(self, item, drawn):
        global _pending
        case = drawn.get("case")
        if set(drawn) == {"case"} and isinstance(case, Conv2dCase):
            _pending = None
            note(f"Replay: {self.command(case, property=item.nodeid)}")
        else:
            _pending = (self, item)


# --- judging one case --------------------------------------------------------

@dataclasses.dataclass
class Finding:
    """What replaying a case showed: the expectation, the observation, the verdict."""

    case: Conv2dCase
    lines: list  # (label, text) to print
    problems: list  # one sentence per broken expectation
    deviation: object = None  # the known deviation that explains the problems
    output: object = None
    error: object = None
    ratio: object = None  # the worst element's error/bound, for a valid call that returned
    conditions_held: list = dataclasses.field(default_factory=list)  # known deviations

    @property
    def failed(self):
        return bool(self.problems) and self.deviation is None

    def verdict(self):
        if self.deviation is not None:
            return (f"KNOWN DEVIATION {self.deviation.id} (torch {self.deviation.torch}): "
                    f"{self.deviation.observed}; reason: {self.deviation.reason}")
        if self.problems:
            return "FAIL: " + "; ".join(self.problems)
        return "PASS: conforms to the specification"

    def report(self):
        rows = [*self.lines, ("verdict", self.verdict())]
        return "\n".join(f"{label:<11} {text}" for label, text in rows)


def _describe_tensor(tensor):
    if tensor is None:
        return "None"
    return (f"{tuple(tensor.shape)} {str(tensor.dtype).removeprefix('torch.')} "
            f"strides {tensor.stride()}")


def _memory_format(tensor):
    """torch's reading of a result's strides; None where either reading holds."""
    if tensor.dim() != 4 or tensor.numel() == 0 or (
            tensor.is_contiguous() and tensor.is_contiguous(memory_format=torch.channels_last)):
        return None
    return torch.channels_last if suggests_channels_last(tensor) else torch.contiguous_format


def examine(conv2d, case, device="cpu", tolerance=Tolerance()):
    """Run ``case`` through ``conv2d`` and judge it as the properties do.

    Notes the known deviations whose condition holds for the case, and the
    one (if any) that explains its problems.
    """
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    input, weight, bias = tensors
    try:
        output, error = call(conv2d, case, tensors), None
        actual = (f"returned {_describe_tensor(output)}" if isinstance(output, torch.Tensor)
                  else f"returned {output!r}")
    except Exception as raised:  # any exception is an observation, judged below
        output, error = None, raised
        actual = f"raised {type(error).__name__}: {str(error)[:300]}"
    try:
        case.geometry()
        rule = None
    except ConvArgumentError as rejection:
        rule = rejection.rule
    if rule is None:
        expected, problems, details, ratio = _judge_value(case, arrays, input, weight, output,
                                                          error, tolerance)
    else:
        expected, problems, details, ratio = _judge_error(rule, output, error)
    arguments = ", ".join(f"{name}={value!r}" for name, value in case.arguments.items())
    lines = [("case", str(case)),
             ("call", f"conv2d(input {_describe_tensor(input)}, weight {_describe_tensor(weight)}, "
                      f"bias {_describe_tensor(bias)}, {arguments})"),
             ("expected", expected), ("actual", actual), *details]
    finding = Finding(case, lines, problems, output=output, error=error, ratio=ratio)
    _match_deviations(finding, device)
    return finding


def _judge_error(rule, output, error):
    """(expected, problems, details, error/bound) for a call the rules reject."""
    fragment = f" matching /{rule.fragment.pattern}/" if rule.fragment else ""
    expected = (f"raises {rule.torch_error.__name__}{fragment}, because {rule.statement} "
                f"(rule {rule.value})")
    if error is None:
        problems = [f"returned a result, but should raise {rule.torch_error.__name__}"]
    elif not isinstance(error, rule.torch_error):
        problems = [f"raised {type(error).__name__}, but should raise {rule.torch_error.__name__}"]
    elif rule.fragment and not rule.fragment.search(str(error)):
        problems = [f"the message lacks torch's fragment /{rule.fragment.pattern}/"]
    else:
        problems = []
    return expected, problems, [], None


def _judge_value(case, arrays, input, weight, output, error, tolerance):
    """(expected, problems, details, error/bound) for a valid call: shape, dtype,
    memory format, values."""
    reference = expected_output(case, arrays)
    expected_format = output_memory_format(input, weight)
    expected = (f"returns {reference.shape} {case.dtype} {expected_format}, values "
                f"{'bitwise equal to' if case.tier == 'exact' else 'within the rounding bound of'}"
                f" the reference")
    if error is not None:
        return expected, [f"raised {type(error).__name__}, but should return a tensor"], [], None
    if not isinstance(output, torch.Tensor):
        return (expected, [f"returned a {type(output).__name__}, but should return a tensor"], [],
                None)
    problems = []
    if tuple(output.shape) != reference.shape:
        problems.append(f"shape {tuple(output.shape)}, but should be {reference.shape}")
    if str(output.dtype) != f"torch.{case.dtype}":
        problems.append(f"dtype {output.dtype}, but should be torch.{case.dtype}")
    observed_format = _memory_format(output)
    if observed_format not in (None, expected_format):
        problems.append(f"memory format {observed_format}, but should be {expected_format}")
    if problems or not output.numel():
        return expected, problems, [], None
    got = as_numpy(output)
    worst = discrepancy(got, reference, rounding_bound(case, arrays, reference, tolerance))
    differing = int(np.count_nonzero(got != reference))
    details = [("values", f"{differing} of {got.size} elements differ from the reference"
                          + (f"; {worst.describe()}" if differing else "")),
               ("error/bound", f"{worst.ratio:.3g} (worst element)")]
    if case.tier == "exact" and differing:
        problems.append(f"{differing} of {got.size} elements differ from the exact reference")
    if worst.ratio > 1:
        problems.append(f"error/bound {worst.ratio:.3g} > 1: further from the reference than "
                        f"rounding allows")
    return expected, problems, details, worst.ratio


def _match_deviations(finding, device):
    """Note the known deviations whose condition holds, and the one that explains
    the problems (if any)."""
    facts = deviations.case_facts(finding.case, device)
    for deviation in deviations.applicable():
        if not deviation.matches_case(facts):
            continue
        finding.conditions_held.append(deviation)
        if finding.problems and finding.deviation is None and deviation.matches_behaviour(
                {**facts, **deviations.outcome_facts(finding.output, finding.error)}):
            finding.deviation = deviation


def check_conforms(conv2d, case, device, tolerance, explain=""):
    """Assert that ``case`` conforms or shows a known deviation; the message is
    the replay report, then ``explain``."""
    __tracebackhide__ = True
    finding = examine(conv2d, case, device, tolerance)
    if finding.ratio is not None:  # for the run's summary
        summary.observe_ratio(finding.ratio)
    for deviation in finding.conditions_held:  # for the run's deviation report
        if deviation is finding.deviation or not finding.problems:
            summary.observe_deviation(deviation, "deviated" if finding.problems else "conformed",
                                      case)
    assert not finding.failed, f"{finding.report()}\n{explain}".rstrip()


# --- the regression corpus ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CorpusEntry:
    line: int
    case: Conv2dCase
    reason: str


def read_corpus(path=CORPUS):
    """The corpus: one ``DESCRIPTOR  # reason`` per line; blank and ``#`` lines skipped."""
    entries = []
    for number, text in enumerate(Path(path).read_text().splitlines(), 1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        descriptor, _, reason = text.partition("#")
        if not reason.strip():
            raise DescriptorError(f"{Path(path).name}:{number}: no reason; write "
                                  f"'DESCRIPTOR  # why this case is kept'")
        try:
            entries.append(CorpusEntry(number, Conv2dCase.parse(descriptor), reason.strip()))
        except (DescriptorError, ValueError) as error:
            raise DescriptorError(f"{Path(path).name}:{number}: {error}") from None
    return entries


# --- replaying a property on one case ------------------------------------------

class _OneCase:
    """pytest plugin: run the selected property on one given case, not on drawn ones."""

    def __init__(self, case):
        self.case = case

    def pytest_collection_modifyitems(self, items):
        for item in items:
            handle = getattr(getattr(item, "obj", None), "hypothesis", None)
            if handle is None or "case" not in inspect.signature(
                    inspect.unwrap(handle.inner_test)).parameters:
                raise pytest.UsageError(f"--property={item.nodeid}: not a property that "
                                        f"draws a `case`; it cannot be replayed on one case")

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import strategies as st
        inner = inspect.unwrap(pyfuncitem.obj.hypothesis.inner_test)
        names = [name for name in inspect.signature(inner).parameters if name != "case"]
        once = settings(database=None, max_examples=1, phases=[Phase.generate], deadline=None,
                        derandomize=True, print_blob=False, suppress_health_check=list(HealthCheck))
        once(given(case=st.just(self.case))(inner))(
            **{name: pyfuncitem.funcargs[name] for name in names})
        return True


def replay_property(node_id, case, options):
    """Run the property ``node_id`` on ``case`` with pytest; returns an exit status."""
    quiet = ["-p", "no:cacheprovider", "-p", "no:warnings", "-p", "no:conv2d-summary", "-q",
             "--no-header", "-rf"]
    code = pytest.main([*quiet, *options, node_id], plugins=[_OneCase(case)])
    return {0: CONFORMS, 1: FAILS}.get(int(code), CANNOT_RUN)


# --- the command line ----------------------------------------------------------

class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block), exit status 2."""

    def error(self, message):
        self.exit(CANNOT_RUN, f"{self.prog}: error: {message}\n")


def add_implementation_arguments(parser):
    """--conv2d-impl, --device and the backend flags, as pytest's options spell them."""
    parser.add_argument("--conv2d-impl", default=DEFAULT, metavar="MODULE:ATTR",
                        help=f"the conv2d under test (default: {DEFAULT}) or a preset name")
    parser.add_argument("--device", default="cpu", choices=DEVICES)
    for name, default in FLAG_DEFAULTS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", default=default, choices=SWITCHES,
                            help=f"{FLAG_HELP[name]} (default: {default})")


def load_implementation_arguments(parser, args):
    """(conv2d, tolerance) for the parsed arguments, with the flags applied; a bad
    value exits with a one-line error."""
    options = types.SimpleNamespace(getoption=lambda name: getattr(args, name))
    try:
        conv2d = load_implementation(args.conv2d_impl)
        check_device(args.device)
    except (ImplementationError, DeviceError) as error:
        parser.exit(CANNOT_RUN, f"{parser.prog}: error: {error}\n")
    apply_flags(options)
    return conv2d, Tolerance(tf32=tf32_in_effect(options))


def main(argv=None):
    warnings.filterwarnings("ignore", "Using padding='same' with even kernel lengths")
    parser = OneLineParser(prog="python -m suite.replay",
                           description="Replay one conv2d case against an implementation.")
    parser.add_argument("descriptor", help="the case descriptor, e.g. "
                        "'in1x1x3x3:w1x1x2x2:s1:p0:d1:g1:float32:contiguous:exact:seed0'")
    add_implementation_arguments(parser)
    parser.add_argument("--property", metavar="NODEID",
                        help="also run this property (a pytest node id) on the case")
    args = parser.parse_args(argv)
    try:
        case = Conv2dCase.parse(args.descriptor)
    except DescriptorError as error:
        parser.exit(CANNOT_RUN, f"{parser.prog}: error: {error}\n")
    conv2d, tolerance = load_implementation_arguments(parser, args)
    try:
        finding = examine(conv2d, case, args.device, tolerance)
    except (ConvArgumentError, ValueError) as error:  # DeviationFileError is a ValueError
        first_line = str(error).splitlines()[0]
        parser.exit(CANNOT_RUN, f"{parser.prog}: error: cannot build this case: {first_line}\n")
    print(f"{'under test':<11} {args.conv2d_impl} on {args.device} (torch {torch.__version__})")
    print(finding.report())
    status = FAILS if finding.failed else CONFORMS
    if args.property:
        print(f"\n{'property':<11} {args.property}")
        sys.stdout.flush()
        flags = [f"--{name.replace('_', '-')}={getattr(args, name)}" for name in FLAG_DEFAULTS]
        status = max(status, replay_property(
            args.property, case,
            [f"--conv2d-impl={args.conv2d_impl}", f"--device={args.device}", *flags]))
    return status


if __name__ == "__main__":
    sys.exit(main())
