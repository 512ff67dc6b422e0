"""Drift between torch versions: record outputs under one, compare under another.

    python -m suite.drift record OLD.npz [--sample=300]     # under the current torch
    python -m suite.drift compare OLD.npz [--report=PATH]   # under the candidate torch

The cases are the regression corpus plus a sample drawn by the suite's own
strategy, derandomised (the same on every run of the same code and
Hypothesis version).  The file keeps every case's descriptor, so a
comparison replays exactly the recorded cases under any Hypothesis version.
It is a NumPy ``.npz`` read with ``allow_pickle=False``: descriptors and what
each call did as JSON strings, outputs as float64/complex128 arrays (exact
for every dtype tested).

``compare`` reports which cases changed bitwise, how far each moved relative
to its rounding bound, and which crossed the bound.  A conformance failure
under the candidate (judged by the one judge, as ``python -m suite.replay``
and the properties judge) fails the comparison; drift within the bound is
reported, not failed.  Calls in the region of a known crash of the torch at
hand are not made, and counted apart, as are changed outputs of a call that is
a known deviation both times (torch may return different garbage on each call).

Exit status: 0 no conformance failure; 1 conformance failures; 2 the command
cannot run (a bad option or file), with a one-line error.
"""

import datetime
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

from case import parse
from suite.compare import discrepancy
from suite.judge import as_numpy
from suite import options
from suite.replay import (CANNOT_RUN, CONFORMS, FAILS, OneLineParser, examine,
                          load_implementation_arguments, read_corpus)
from suite.summary import environment

SAMPLE = 300
LISTED = 20  # changed cases listed by name in the report


def sample_cases(count):
    """Up to ``count`` distinct valid cases of every dtype, layout and tier."""
    from hypothesis import HealthCheck, Phase, given, settings

    from strategies import conv2d_cases
    drawn = {}

    @settings(derandomize=True, database=None, max_examples=count, phases=[Phase.generate],
              deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=conv2d_cases())
    def collect(case):
        drawn.setdefault(str(case), case)
    collect()
    return list(drawn.values())


def _output(finding):
    """The tensor the call returned, or None."""
    output = finding.outcome.output
    return output if isinstance(output, torch.Tensor) else None


def _outcome(finding):
    """What a call did, as JSON-able facts (the output itself is stored apart)."""
    output, error = finding.outcome.output, finding.outcome.error
    facts = {"status": finding.status + (f" {finding.deviation.id}" if finding.deviation else "")}
    if finding.not_run is not None:
        facts["not_run"] = finding.not_run.id
    elif error is not None:
        facts["raised"] = type(error).__name__
    elif isinstance(output, torch.Tensor):
        facts.update(shape=list(output.shape), dtype=str(output.dtype).removeprefix("torch."),
                     strides=list(output.stride()))
    else:
        facts["returned"] = type(output).__name__
    return facts


def record(path, conv2d, device, model, cases, about):
    """Run every case and write descriptors, outcomes and outputs to ``path``."""
    outcomes, outputs = [], {}
    for number, case in enumerate(cases):
        finding = examine(conv2d, case, device, model)
        outcomes.append(json.dumps(_outcome(finding)))
        if _output(finding) is not None:
            outputs[f"output{number}"] = as_numpy(_output(finding))
    np.savez_compressed(path, descriptors=np.array([str(case) for case in cases]),
                        outcomes=np.array(outcomes), about=np.array(json.dumps(about)), **outputs)


def _bits(values):
    """An array's float64 bit patterns (complex: both parts)."""
    return np.ascontiguousarray(values).view(np.uint64)


def _change(case, old, new, model):
    """(changed bitwise, max |new - old| / bound, old and new error/bound); the
    ratios are None where there is no bound (a deviation that returns)."""
    if _bits(old).tobytes() == _bits(new).tobytes():
        return False, 0.0, None, None
    if case.rule() is not None or old.shape != new.shape:
        return True, None, None, None
    arrays = case.arrays()
    expected = case.expected(arrays)
    if expected.shape != new.shape:
        return True, None, None, None
    bound = case.bound(arrays, expected, model)
    return (True, discrepancy(new, old, bound).ratio, discrepancy(old, expected, bound).ratio,
            discrepancy(new, expected, bound).ratio)


def compare(path, conv2d, spec, device, model):
    """Replay the recorded cases; (markdown report lines, exit status)."""
    with np.load(path, allow_pickle=False) as recorded:
        descriptors = [str(text) for text in recorded["descriptors"]]
        outcomes = [json.loads(str(text)) for text in recorded["outcomes"]]
        about = json.loads(str(recorded["about"]))
        old_outputs = {name: recorded[name] for name in recorded.files if name.startswith("output")}
    identical, within, behaviour, crossed, failures, deviations = [], [], [], [], [], {}
    not_run, deviating = [], []
    for number, (descriptor, old) in enumerate(zip(descriptors, outcomes)):
        case = parse(descriptor)
        finding = examine(conv2d, case, device, model)
        new = _outcome(finding)
        if finding.not_run is not None or "not_run" in old:
            not_run.append(f"`{descriptor}`: known crash "
                           f"{(finding.not_run.id if finding.not_run else old['not_run'])}")
            continue
        if finding.failed:
            failures.append(f"`{descriptor}`: {finding.message()}")
        if finding.deviation is not None:
            deviations.setdefault(finding.deviation.id, []).append(descriptor)
        facts = {key: value for key, value in new.items() if key != "status"}
        old_facts = {key: value for key, value in old.items() if key != "status"}
        if facts != old_facts:
            behaviour.append(f"`{descriptor}`: {old_facts} -> {facts}")
            continue
        if "shape" not in facts:
            identical.append(descriptor)
            continue
        changed, moved, old_ratio, new_ratio = _change(
            case, old_outputs[f"output{number}"], as_numpy(_output(finding)), model)
        if not changed:
            identical.append(descriptor)
        elif finding.deviation is not None and old["status"].startswith("deviation"):
            # a known deviation both times (one may return different garbage on every call)
            deviating.append(f"`{descriptor}`: known deviation {finding.deviation.id}")
        elif old_ratio is not None and old_ratio <= 1 < new_ratio:
            crossed.append((new_ratio, descriptor, moved, old_ratio))
        elif moved is None:
            within.append((-1.0, f"`{descriptor}`: changed; no bound, as the call is invalid"))
        else:
            within.append((moved, f"`{descriptor}`: {moved:.3g} ({_ratio(old_ratio)} -> "
                                  f"{_ratio(new_ratio)})"))
    lines = [f"## conv2d drift: torch {about['torch']} -> torch {torch.__version__}", "",
             f"{len(descriptors)} cases recorded {about['recorded']} with "
             f"`{about['conv2d_impl']}` on {about['device']}, replayed with `{spec}` on {device}.",
             "",
             "| | cases |", "|---|---:|",
             f"| bitwise identical | {len(identical)} |",
             f"| changed, within the rounding bound | {len(within)} |",
             f"| changed, crossed the bound (conformed before, not now) | {len(crossed)} |",
             f"| changed behaviour (raised / shape / dtype / strides) | {len(behaviour)} |",
             f"| not run: a known crash of either torch (counted apart) | {len(not_run)} |",
             f"| changed, a known deviation both times (counted apart) | {len(deviating)} |",
             f"| conformance failures under torch {torch.__version__} | {len(failures)} |", ""]
    if within:
        lines += ["Largest changes (|new - old| / bound; error/bound before -> after):", ""]
        lines += [f"- {text}" for _, text in sorted(within, reverse=True)[:LISTED]]
        lines.append("")
    for title, rows in (("Crossed the bound", [f"`{d}`: error/bound {o:.3g} -> {n:.3g}"
                                                for n, d, _, o in crossed]),
                        ("Changed behaviour", behaviour), ("Not run", not_run),
                        ("Changed, a known deviation both times", deviating),
                        ("Conformance failures", failures),
                        ("Known deviations met", [f"{entry}: {len(cases)} case(s), e.g. `{cases[0]}`"
                                                  for entry, cases in deviations.items()])):
        if rows:
            lines += [f"{title}:", "", *[f"- {row}" for row in rows[:LISTED]], ""]
    return lines, FAILS if failures else CONFORMS


def _ratio(value):
    return "-" if value is None else f"{value:.3g}"


def main(argv=None):
    warnings.filterwarnings("ignore", "Using padding='same' with even kernel lengths")
    parser = OneLineParser(prog="python -m suite.drift", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "compare"))
    parser.add_argument("path", help="the .npz file to write (record) or read (compare)")
    options.add_to_parser(parser)
    parser.add_argument("--sample", type=int, default=SAMPLE, metavar="N",
                        help=f"record: sampled cases besides the corpus (default {SAMPLE})")
    parser.add_argument("--report", metavar="PATH", help="compare: also write the report here "
                        "(markdown, e.g. $GITHUB_STEP_SUMMARY)")
    args = parser.parse_args(argv)
    conv2d, model = load_implementation_arguments(parser, args)
    if args.action == "compare" and not Path(args.path).is_file():
        parser.exit(CANNOT_RUN, f"{parser.prog}: error: {args.path}: no such file; record one first\n")
    if args.action == "record":
        cases = [entry.case for entry in read_corpus()] + sample_cases(args.sample)
        about = {"torch": torch.__version__, "conv2d_impl": args.conv2d_impl,
                 "device": args.device,
                 "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 "environment": dict(environment())}
        record(args.path, conv2d, args.device, model, cases, about)
        print(f"recorded {len(cases)} cases under torch {torch.__version__} to {args.path}")
        return CONFORMS
    try:
        lines, status = compare(args.path, conv2d, args.conv2d_impl, args.device, model)
    except (KeyError, ValueError, OSError) as error:
        parser.exit(CANNOT_RUN, f"{parser.prog}: error: {args.path}: not a drift recording "
                                f"({type(error).__name__}: {error})\n")
    text = "\n".join(lines)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
