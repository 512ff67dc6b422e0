"""The kernel-selection sweep covers every three-way conjunction the rules allow.

The committed rows (strategies/kernel_sweep_rows.txt) must hold every
t-tuple of levels of ``DIMENSIONS`` in some row, except those that the
specification's argument rules reject in every call; each row must be a
valid call, and the construction must cover on any small model too.
"""

import itertools

import pytest

from strategies import kernel_sweep
from strategies.kernel_sweep import DIMENSIONS, NAMES, STRENGTH

pytestmark = pytest.mark.meta

LEVELS = list(DIMENSIONS.values())


def _indices(row):
    return tuple(LEVELS[d].index(level) for d, level in enumerate(row))


def _uncovered(rows, sizes, strength):
    covered = {t for row in rows for t in itertools.combinations(enumerate(row), strength)}
    return [t for t in kernel_sweep.t_tuples(sizes, strength) if t not in covered]


def test_every_row_of_the_sweep_is_a_call_the_rules_accept():
    rejected = [row for row in kernel_sweep.read_rows() if not kernel_sweep.valid(row)]
    assert not rejected, f"rows {rejected[:3]} are calls the rules reject, but should be valid"


def test_the_sweep_covers_every_three_way_conjunction_that_some_valid_call_has():
    rows = [_indices(row) for row in kernel_sweep.read_rows()]
    sizes = [len(levels) for levels in LEVELS]
    completions = kernel_sweep.Completions(sizes, lambda row: kernel_sweep.valid(
        tuple(LEVELS[d][i] for d, i in enumerate(row))))
    possible = [t for t in _uncovered(rows, sizes, STRENGTH) if completions.first(t) is not None]
    named = [[(NAMES[d], LEVELS[d][i]) for d, i in t] for t in possible[:3]]
    assert not possible, (f"{len(possible)} conjunctions, e.g. {named}, have a valid call but "
                          f"no row of the sweep, but should each have one "
                          f"[python -m strategies.kernel_sweep --write]")


def test_the_sweep_has_one_cell_per_row_and_names_each_once():
    cells = kernel_sweep.cells()
    assert len({cell.id for cell in cells}) == len(cells) == len(kernel_sweep.read_rows())


@pytest.mark.parametrize("strength", [2, 3])
def test_the_construction_covers_a_small_model_with_a_rule(strength):
    dimensions = {"a": ("0", "1", "2"), "b": ("0", "1"), "c": ("0", "1", "2"), "d": ("0", "1")}

    def accepts(row):  # a rule: a == 2 never with b == 1
        return not (row[0] == "2" and row[1] == "1")
    array = kernel_sweep.covering_array(dimensions, strength, accepts, candidates=3)
    sizes = [3, 2, 3, 2]
    assert all(accepts(tuple(str(i) for i in row)) for row in array.rows)
    uncovered = _uncovered(array.rows, sizes, strength)
    assert uncovered == array.excluded and all(
        dict(t).get(0) == 2 and dict(t).get(1) == 1 for t in uncovered), (
        f"uncovered {uncovered}, but should be exactly the tuples with a = 2 and b = 1")


def test_a_rows_file_of_other_dimensions_is_a_one_line_error(tmp_path):
    path = tmp_path / "rows.txt"
    path.write_text("dtype layout\nfloat32 contiguous\n")
    with pytest.raises(kernel_sweep.RowsError, match="first line must name the dimensions"):
        kernel_sweep.read_rows(path)
