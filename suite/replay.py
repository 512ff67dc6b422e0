"""Replay one case, by its descriptor, against any conv2d: the reproduction command.

    python -m suite.replay 'in1x1x3x3:w1x1x2x2:s1:p0:d1:g1:float32:contiguous:exact:seed0' \\
        --conv2d-impl=MODULE:ATTR --device=cpu --torch-threads=1 [--property=NODEID]

It needs neither Hypothesis's example database nor a particular Hypothesis
version: the descriptor holds the whole case (any kind: a per-sample case, a
derived call), its data included (a seed).  It prints the call, what the
specification expects and what the implementation did, and the one judge's
verdict (suite/judge.py).  With ``--property`` it also runs that property (a
pytest node id) on this one case.  The call is made in a child process, so a
call that kills the process is reported as a crash with its signal.

Exit status: 0 the implementation conforms (or shows a known deviation of
tests/known_deviations.toml); 1 it does not (a crash included); 2 the command
cannot run (a malformed descriptor, an unknown implementation or device, a
case whose data cannot be built, a property that cannot take the case), with
a one-line error; 3 not run: the call is in the region of a known crash of
this torch (``--unguarded`` makes it anyway).

Every failing property prints ``Replay: <this command>`` for its final
(shrunk) example (``ReplayNotes``), with the options the run used.
"""

import argparse
import dataclasses
import inspect
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import note

from case import Case, DescriptorError, parse
from reference import ConvArgumentError, ErrorModel
from suite import options, registry, summary
from suite.judge import judge
from suite.monitor import HANG_EXIT
from suite.recheck import Rechecker
from suite.run import monitor_calls, run

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus.txt"
CONFORMS, FAILS, CANNOT_RUN, NOT_RUN = 0, 1, 2, 3


def _quoted(text):
    """``text`` in single quotes for a POSIX shell."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def command(case, pairs, property=None):
    """The shell command that replays ``case`` with the run's options: (name, value)
    pairs, as ``suite.options.values`` gives them."""
    words = ["python -m suite.replay", _quoted(str(case))]
    words += [f"--{name.replace('_', '-')}={_quoted(str(value)) if name == 'conv2d_impl' else value}"
              for name, value in pairs if value is not None]
    if property:
        words.append(f"--property={_quoted(property)}")
    return " ".join(words)


def examine(conv2d, case, device="cpu", model=ErrorModel(), guard=True):
    """Make ``case``'s call and judge it; the finding carries the call's description."""
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    finding = judge(case, run(conv2d, case, tensors, guard=guard), model=model, arrays=arrays,
                    tensors=tensors)
    described = ", ".join(f"{name}={value!r}" for name, value in case.arguments.items())
    shapes = ", ".join("None" if t is None else f"{tuple(t.shape)} strides {t.stride()}"
                       for t in tensors)
    call = f"conv2d({shapes}, {described})"
    if hasattr(case, "describe_call"):  # a single call, written as its spelling says
        names = tuple(None if t is None else f"{name}{tuple(t.shape)}"
                      for name, t in zip(("input", "weight", "bias"), tensors))
        call = f"{case.describe_call(names)}; strides {', '.join(str(t.stride()) for t in tensors if t is not None)}"
    finding.lines[:0] = [("case", str(case)), ("call", call)]
    small = [(name, a) for name, a in zip(("input", "weight", "bias"), arrays) if a is not None]
    if sum(a.size for _, a in small) <= SHOWN_VALUES:  # a shrunk case: show its numbers
        finding.lines.insert(2, ("data", "; ".join(
            f"{name} {a.reshape(-1).tolist()}" for name, a in small)))
    return finding


SHOWN_VALUES = 32  # a replay prints the data of cases with at most this many values


# --- the Replay line of failing properties ---------------------------------

class _RecordingData:
    """A Hypothesis ``data`` object that remembers the draw labelled ``case``."""

    def __init__(self, data):
        self._data, self.case = data, None

    def draw(self, strategy, label=None):
        value = self._data.draw(strategy, label=label)
        if label == "case" and isinstance(value, Case):
            self.case = value
        return value


def replay_lines(error):
    """The ``Replay: `` lines in an exception's message and notes (groups included)."""
    texts = [str(error), *getattr(error, "__notes__", ())]
    lines = [line.strip() for text in texts for line in text.splitlines()
             if line.strip().startswith("Replay: ")]
    for inner in getattr(error, "exceptions", ()):
        lines += replay_lines(inner)
    return lines


class ReplayNotes:
    """pytest plugin: each failing example notes ``Replay: <command>`` for its case:
    the drawn ``case``, or the draw labelled "case" of a property that draws ``data``.

    Hypothesis prints notes only for the final (shrunk) example, inside the
    failure report, so the line reaches the terminal, JUnit XML and xdist's
    controller with the rest of the failure.
    """

    def __init__(self, config):
        self.options = options.values(config.getoption)

    def command(self, case, property=None):
        return command(case, self.options, property)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        with summary.each_example(item, lambda proceed, drawn: self._example(item, proceed,
                                                                             drawn)):
            yield

    def _example(self, item, proceed, drawn):
        recording = None
        if "data" in drawn:
            recording = drawn["data"] = _RecordingData(drawn["data"])
        try:
            return proceed()
        except Exception:
            case = drawn.get("case") if recording is None else recording.case
            if isinstance(case, Case):
                note(f"Replay: {self.command(case, property=item.nodeid)}")
            raise

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        """Repeat the Replay lines of a failure in a section of their own, where
        they start the line (in the traceback pytest prefixes them with ``E``)."""
        outcome = yield
        report = outcome.get_result()
        lines = replay_lines(call.excinfo.value) if report.failed and call.excinfo else []
        if lines:
            report.sections.append(("Replay", "\n".join(dict.fromkeys(lines))))


# --- the regression corpus ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CorpusEntry:
    line: int
    case: object
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
            entries.append(CorpusEntry(number, parse(descriptor), reason.strip()))
        except DescriptorError as error:
            raise DescriptorError(f"{Path(path).name}:{number}: {error}") from None
    return entries


# --- replaying a property on one case ------------------------------------------

class _ReplayData:
    """Stands in for Hypothesis's ``data``: the draw labelled "case" is the replayed case."""

    def __init__(self, case):
        self.case = case

    def draw(self, strategy, label=None):
        if label != "case":
            raise pytest.UsageError(f"the property draws {label!r} besides the case; it cannot "
                                    f"be replayed on one case")
        return self.case


class _OneCase:
    """pytest plugin: run the selected property on one given case, not on drawn ones."""

    def __init__(self, case):
        self.case = case

    @staticmethod
    def _drawn(item):
        handle = getattr(getattr(item, "obj", None), "hypothesis", None)
        if handle is None:
            return None
        parameters = set(inspect.signature(inspect.unwrap(handle.inner_test)).parameters)
        return next((name for name in ("case", "data") if name in parameters), None)

    def pytest_collection_modifyitems(self, items):
        for item in items:
            if self._drawn(item) is None:
                raise pytest.UsageError(f"--property={item.nodeid}: not a property that draws a "
                                        f"`case`; it cannot be replayed on one case")

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        inner = inspect.unwrap(pyfuncitem.obj.hypothesis.inner_test)
        drawn = self._drawn(pyfuncitem)
        names = [name for name in inspect.signature(inner).parameters if name != drawn]
        given = {drawn: self.case if drawn == "case" else _ReplayData(self.case)}
        inner(**given, **{name: pyfuncitem.funcargs[name] for name in names})
        return True


def replay_property(node_id, case, options):
    """Run the property ``node_id`` on ``case`` with pytest; returns an exit status."""
    quiet = ["-p", "no:cacheprovider", "-p", "no:warnings", "-p", "no:conv2d-summary",
             "-p", "no:xdist", "-q", "--no-header", "-rf"]
    code = pytest.main([*quiet, *options, node_id], plugins=[_OneCase(case)])
    return {0: CONFORMS, 1: FAILS}.get(int(code), CANNOT_RUN)


# --- the command line ----------------------------------------------------------

class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block), exit status 2."""

    def error(self, message):
        self.exit(CANNOT_RUN, f"{self.prog}: error: {message}\n")


def load_implementation_arguments(parser, args):
    """(conv2d, error model) for the parsed options (suite/options.py), applied, with
    the registry in force (rechecked lazily, entry by entry, as cases meet their
    regions); a bad value exits with a one-line error."""
    getoption = lambda name: getattr(args, name)  # noqa: E731
    try:
        setup = options.configure(getoption)
        entries = registry.load_all(setup.deviations)
    except (options.UsageError, registry.RegistryError) as error:
        parser.exit(CANNOT_RUN, f"{parser.prog}: error: {error}\n")
    registry.activate(registry.Registry(entries, recheck=Rechecker(options.values(getoption))))
    return setup.conv2d, setup.model


def _in_child(argv, limit):
    """Run this replay again in a child process; report a crash by its signal and a
    call that outlives the time limit as a hang."""
    child = subprocess.run([sys.executable, "-m", "suite.replay", *argv, "--in-process"],
                           cwd=ROOT)
    if child.returncode == HANG_EXIT:
        print(f"{'verdict':<11} HANG: the call did not return within {limit:g} s")
        return FAILS
    if child.returncode >= 0:
        return child.returncode
    name = signal.Signals(-child.returncode).name
    print(f"{'verdict':<11} CRASH: the call killed the replay's child process with {name}")
    return FAILS


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    warnings.filterwarnings("ignore", "Using padding='same' with even kernel lengths")
    parser = OneLineParser(prog="python -m suite.replay",
                           description="Replay one conv2d case against an implementation.")
    parser.add_argument("descriptor", help="the case descriptor, e.g. "
                        "'in1x1x3x3:w1x1x2x2:s1:p0:d1:g1:float32:contiguous:exact:seed0'")
    options.add_to_parser(parser)
    parser.add_argument("--property", metavar="NODEID",
                        help="also run this property (a pytest node id) on the case")
    parser.add_argument("--unguarded", action="store_true",
                        help="make the call even where a known crash of this torch holds")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        case = parse(args.descriptor)
    except DescriptorError as error:
        parser.exit(CANNOT_RUN, f"{parser.prog}: error: {error}\n")
    conv2d, model = load_implementation_arguments(parser, args)
    if not args.in_process:
        return _in_child(argv, args.conv2d_call_timeout)
    monitor_calls(limit=args.conv2d_call_timeout)
    try:
        finding = examine(conv2d, case, args.device, model, guard=not args.unguarded)
    except (ConvArgumentError, ValueError) as error:
        first_line = str(error).splitlines()[0]
        parser.exit(CANNOT_RUN, f"{parser.prog}: error: cannot build this case: {first_line}\n")
    print(f"{'under test':<11} {args.conv2d_impl} on {args.device} (torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s))")
    print(finding.report())
    status = {"fails": FAILS, "not run": NOT_RUN}.get(finding.status, CONFORMS)
    if args.property:
        print(f"\n{'property':<11} {args.property}")
        sys.stdout.flush()
        repeated = options.arguments(options.values(lambda name: getattr(args, name)))
        status = max(status, replay_property(args.property, case, repeated))
    return status


if __name__ == "__main__":
    sys.exit(main())
