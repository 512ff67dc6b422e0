"""A kernel-selection sweep: every three-way conjunction of what picks a conv2d kernel.

A conv2d bug is usually a conjunction: pytorch#120211 needed a depthwise
call, a channels_last input and a 1xK kernel with K >= 15 at once.  The
size regimes (strategies/sizes.py) favour such corners, but some 60
derandomised examples per property meet the conjunctions they happen to
meet, and the kernel-coverage report names oneDNN implementations, not the
branches inside them.  So the sweep meets them by construction: a covering
array of strength 3 over ``DIMENSIONS``, in which every combination of any
three levels of any three dimensions is in at least one row, and each row
is the smallest call that has its levels (``cell_case``).

Levels:
- dtype: the floating dtypes conv2d computes on the CPU;
- layout: NCHW, NHWC input and weight, NHWC input only or weight only, a view
  of NHWC storage (``permuted_input``: NHWC strides on size-1 axes too, as
  pytorch#120547 had them), and a strided view of the input (every other
  column of a wider tensor);
- kernel: 1x1 and the square 3x3, 5x5, 7x7; 11x11 (AlexNet's first layer),
  square past 7x7; 14x14 and 16x16, the patch embedding of ViT, CLIP, DINOv2
  and SAM (with stride "kernel" the patchify call itself); 1xK and Kx1 with K
  on both sides of the 15 where pytorch#120211 began, and 31;
- groups: dense, grouped (2 groups), depthwise with multiplier 1 and 2;
- stride: 1, 2, and "kernel" (the stride equal to the kernel: patchify);
- dilation: 1, 2;
- padding: none (0), numbers (half the dilated kernel), 'same', 'valid', and
  "only": the dilated kernel's extent on each side, so that windows at the
  edges read nothing but padding;
- batch: 1, and 3 (a multiple of no batch block: a tail after a block of 2);
- channels: below (3), at (16) and past (17) a vector block of 16 floats;
  per group for dense and grouped calls, the channel count of depthwise ones;
- bias: none, or one;
- outputs per axis: two (so that stride and the tails matter), or one (the
  smallest call of all: with numeric padding a kernel wider than the input,
  as conv1d's calls through conv2d have it: pytorch#120547's 1-pixel input).

Every row maps to a call whose sizes are the smallest that have its levels.  A
combination no valid call can have (padding 'same' with a stride past 1) is
excluded by the specification's argument rules, ``reference.resolve``, never
by hand: the construction proves that every completion of it is rejected.

Construction (``covering_array``): a greedy of the AETG family, deterministic.
Each row kept is the best of ``CANDIDATES`` rows, each grown from one of the
first uncovered t-tuples (in a fixed order) by fixing every other dimension
in turn to the level that covers most uncovered t-tuples with the dimensions
fixed so far (ties: the first level); a row the rules reject is repaired one
dimension at a time, and a t-tuple whose every completion is rejected (found
by enumerating them, or because a pair in it has none) is excluded.  The
array is written once to ``ROWS`` (``python -m strategies.kernel_sweep
--write``: 466 rows, 50 t-tuples excluded, 3.6 s on a 2-core AMD EPYC,
2026-12-08) and read by the run, so the gate neither waits for it nor
depends on a generator's release; tests/meta/test_sweep_covering_array.py
checks the file's coverage and validity.
covertable, the maintained t-way generator on PyPI, was tried: it takes a
constraint as a callable over complete rows too, but its rows depend on its
release and its sorter, and a committed array needs neither.

Size and cost (torch 2.13.0, 2-core AMD EPYC, one thread, 2026-12-08,
pytest's call times of tests/test_kernel_sweep.py): 466 cells, forward 0.9 s,
backward 2.9 s.  Strength 4 needs 2,740 rows (one candidate per row), about
22 s a run at that rate: more than the gate's budget leaves.
"""

import argparse
import dataclasses
import functools
import itertools
import sys
import time
from pathlib import Path

from case import Conv2dCase
from reference import ConvArgumentError, resolve

STRENGTH = 3
# Greedy rows tried per row kept: 20 gives 15% fewer rows than 1 (bench: python -m
# strategies.kernel_sweep --candidates N).
CANDIDATES = 20

DIMENSIONS = {
    "dtype": ("float32", "bfloat16", "float16", "float64"),
    "layout": ("contiguous", "channels_last", "channels_last_input", "channels_last_weight",
               "permuted_input", "sliced_input"),
    "kernel": ("1x1", "3x3", "5x5", "7x7", "11x11", "14x14", "16x16", "1x13", "1x15", "1x31",
               "13x1", "15x1", "31x1"),
    "groups": ("dense", "grouped", "depthwise", "depthwise_x2"),
    "stride": ("1", "2", "kernel"),
    "dilation": ("1", "2"),
    "padding": ("none", "numbers", "same", "valid", "only"),
    "batch": ("1", "3"),
    "channels": ("below", "at", "past"),
    "bias": ("none", "bias"),
    "outputs": ("2", "1"),
}
NAMES = tuple(DIMENSIONS)
ROWS = Path(__file__).with_name("kernel_sweep_rows.txt")  # the committed array
CHANNELS = {"below": 3, "at": 16, "past": 17}  # a vector block of 16 floats (AVX-512)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One row of the covering array: a level of every dimension, and its call."""

    levels: tuple  # in the order of ``NAMES``

    def __getitem__(self, name):
        return self.levels[NAMES.index(name)]

    @property
    def id(self):
        """The cell's name in test ids: its levels, '-'-separated."""
        words = dict(zip(NAMES, self.levels))
        return "-".join([words["dtype"], words["layout"], words["kernel"], words["groups"],
                         f"s{words['stride']}", f"d{words['dilation']}", f"p{words['padding']}",
                         f"n{words['batch']}", f"c{words['channels']}", words["bias"],
                         f"o{words['outputs']}"])

    @property
    def case(self):
        return cell_case(self.levels)


def _axis(kernel, dilation, stride, padding, outputs):
    """(input length, padding amount) on one axis: the smallest input giving
    ``outputs`` outputs ('same': stride 1 keeps the length)."""
    extent = dilation * (kernel - 1) + 1
    if padding == "same":
        return outputs, 0
    pad = {"none": 0, "valid": 0, "numbers": extent // 2, "only": extent}[padding]
    return max(1, extent - 2 * pad + (outputs - 1) * stride), pad


def cell_call(levels):
    """The smallest call with these levels: the keyword arguments of a ``Conv2dCase``
    (shapes, arguments, dtype and layout)."""
    level = dict(zip(NAMES, levels))
    kernel = tuple(int(size) for size in level["kernel"].split("x"))
    dilation = int(level["dilation"])
    stride = kernel if level["stride"] == "kernel" else (int(level["stride"]),) * 2
    axes = [_axis(k, dilation, s, level["padding"], int(level["outputs"]))
            for k, s in zip(kernel, stride)]
    channels = CHANNELS[level["channels"]]
    groups, group_channels, out_channels = {
        "dense": (1, channels, channels),
        "grouped": (2, channels, 2 * channels),
        "depthwise": (channels, 1, channels),
        "depthwise_x2": (channels, 1, 2 * channels)}[level["groups"]]
    padding = (level["padding"] if level["padding"] in ("same", "valid")
               else 0 if level["padding"] == "none" else tuple(pad for _, pad in axes))
    return dict(
        input_shape=(int(level["batch"]), groups * group_channels, *(size for size, _ in axes)),
        weight_shape=(out_channels, group_channels, *kernel),
        bias_shape=(out_channels,) if level["bias"] == "bias" else None,
        stride=stride if stride[0] != stride[1] else stride[0], padding=padding,
        dilation=dilation, groups=groups, dtype=level["dtype"], layout=level["layout"])


def cell_case(levels):
    """The row's call as a case, on exact-tier data (the rules may reject it)."""
    return Conv2dCase(**cell_call(levels), tier="exact", seed=0)


def valid(levels):
    """Whether the specification's argument rules (``reference.resolve``) accept the
    row's call."""
    call = cell_call(levels)
    dtype = call.pop("dtype")
    call.pop("layout")
    try:
        resolve(**call, dtypes=(dtype, dtype, dtype if call["bias_shape"] else None))
    except ConvArgumentError:
        return False
    return True


def _tuples(row, strength):
    """The t-tuples a row covers: ((dimension, level index), ...) per t dimensions."""
    return itertools.combinations(enumerate(row), strength)


@dataclasses.dataclass
class CoveringArray:
    rows: list  # tuples of level indices, one per dimension
    excluded: list  # t-tuples ((dimension, level index), ...) that no accepted row has


def t_tuples(sizes, strength):
    """Every t-tuple over dimensions of ``sizes`` levels, sorted."""
    return sorted(tuple(zip(dims, picks))
                  for dims in itertools.combinations(range(len(sizes)), strength)
                  for picks in itertools.product(*(range(sizes[d]) for d in dims)))


def covering_array(dimensions=DIMENSIONS, strength=STRENGTH, accepts=None,
                   candidates=CANDIDATES):
    """A covering array of ``strength`` over ``dimensions`` ({name: levels}) whose rows
    ``accepts`` (a function of a row's levels; default ``valid``): each row the best of
    the greedy rows grown from the first ``candidates`` uncovered t-tuples."""
    levels = list(dimensions.values())
    sizes = [len(choices) for choices in levels]
    accepts = accepts or valid
    completions = Completions(sizes, lambda row: accepts(
        tuple(levels[d][i] for d, i in enumerate(row))))
    order = t_tuples(sizes, strength)
    uncovered = set(order)
    rows, excluded, start = [], [], 0
    while uncovered:
        while order[start] not in uncovered:
            start += 1
        seeds = list(itertools.islice((seed for seed in order[start:] if seed in uncovered),
                                      candidates))
        grown = []
        for seed in seeds:
            row = _greedy_row(seed, sizes, uncovered, strength)
            row = row if completions.accepts(row) else completions.repair(row, seed)
            if row is None:
                excluded.append(seed)
                uncovered.discard(seed)
            else:
                grown.append(row)
        if grown:
            best = max(grown, key=lambda row: sum(t in uncovered for t in _tuples(row, strength)))
            rows.append(best)
            uncovered.difference_update(_tuples(best, strength))
    return CoveringArray(rows, sorted(excluded))


def _greedy_row(seed, sizes, uncovered, strength):
    """The seed's levels, then each other dimension's level that covers most uncovered
    t-tuples together with the dimensions fixed before it (ties: the first level)."""
    row = dict(seed)
    for dimension in range(len(sizes)):
        if dimension in row:
            continue
        others = sorted(row.items())

        def gain(level):
            return sum(tuple(sorted(combo + ((dimension, level),))) in uncovered
                       for combo in itertools.combinations(others, strength - 1))
        row[dimension] = max(range(sizes[dimension]), key=gain)
    return tuple(row[d] for d in range(len(sizes)))


class Completions:
    """Rows that have some fixed levels and that ``accepts``, over dimensions of
    ``sizes`` levels."""

    def __init__(self, sizes, accepts):
        self.sizes, self.accepts = sizes, accepts
        self._possible = {}

    def repair(self, row, fixed):
        """An accepted row that keeps ``fixed``: ``row`` with one other dimension
        changed, else the first accepted completion; None if there is none."""
        kept = dict(fixed)
        for dimension, size in enumerate(self.sizes):
            for level in range(size):
                changed = row[:dimension] + (level,) + row[dimension + 1:]
                if dimension not in kept and self.accepts(changed):
                    return changed
        return self.first(fixed)

    def first(self, fixed):
        """The first accepted row with the levels ``fixed`` (sorted (dimension, level)
        pairs), or None; a fixed pair that no accepted row has rules out at once every
        larger tuple that holds it."""
        if len(fixed) > 2 and not all(self.first(pair) is not None
                                      for pair in itertools.combinations(fixed, 2)):
            return None
        if fixed not in self._possible:
            kept = dict(fixed)
            choices = [[kept[d]] if d in kept else range(size)
                       for d, size in enumerate(self.sizes)]
            self._possible[fixed] = next(
                (row for row in itertools.product(*choices) if self.accepts(row)), None)
        return self._possible[fixed]


def format_rows(array, dimensions=DIMENSIONS, strength=STRENGTH):
    """The array as the text of ``ROWS``: a header, then one row of level names a line."""
    levels = list(dimensions.values())
    header = [f"# The kernel-selection sweep: a covering array of strength {strength} "
              f"(strategies/kernel_sweep.py),",
              f"# {len(array.rows)} rows; {len(array.excluded)} t-tuples that the argument "
              f"rules reject in every call are excluded.",
              "# Written by `python -m strategies.kernel_sweep --write`; do not edit.",
              " ".join(dimensions)]
    return "\n".join(header + [" ".join(levels[d][i] for d, i in enumerate(row))
                               for row in array.rows]) + "\n"


class RowsError(ValueError):
    """The rows file does not match ``DIMENSIONS``; the message names the line."""


def read_rows(path=ROWS):
    """The rows of the sweep's file, as tuples of level names (checked against
    ``DIMENSIONS``)."""
    lines = [line for line in Path(path).read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    if not lines or tuple(lines[0].split()) != NAMES:
        raise RowsError(f"{path}: the first line must name the dimensions {' '.join(NAMES)}")
    rows = []
    for number, line in enumerate(lines[1:], 2):
        row = tuple(line.split())
        if len(row) != len(NAMES) or any(level not in DIMENSIONS[name]
                                         for name, level in zip(NAMES, row)):
            raise RowsError(f"{path}: row {number} {line!r} is not one level of each dimension")
        rows.append(row)
    return rows


@functools.lru_cache(maxsize=None)
def cells():
    """The sweep: one ``Cell`` per row of the committed covering array (``ROWS``)."""
    return tuple(Cell(row) for row in read_rows())


def main(argv=None):
    """Build the covering array, say its size and what it took; ``--write``: into ROWS."""
    parser = argparse.ArgumentParser(prog="python -m strategies.kernel_sweep",
                                     description=main.__doc__)
    parser.add_argument("--strength", type=int, default=STRENGTH)
    parser.add_argument("--candidates", type=int, default=CANDIDATES)
    parser.add_argument("--write", action="store_true", help=f"write the rows to {ROWS.name}")
    args = parser.parse_args(argv)
    if args.strength < 2 or args.candidates < 1:
        parser.error("--strength must be >= 2 and --candidates >= 1")
    start = time.perf_counter()
    array = covering_array(strength=args.strength, candidates=args.candidates)
    print(f"strength {args.strength}, {args.candidates} candidates: {len(array.rows)} rows, "
          f"{len(array.excluded)} t-tuples excluded by the rules, "
          f"{time.perf_counter() - start:.1f} s")
    if args.write:
        ROWS.write_text(format_rows(array, strength=args.strength))
        print(f"wrote {ROWS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
