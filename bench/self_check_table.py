"""The self-check as a table: which conformance property fails on which broken conv2d.

    CONV2D_SELFCHECK_OUTCOMES=DIR pytest -n auto -m selfcheck
    python -m bench.self_check_table DIR

The self-check keeps each broken implementation's outcomes in DIR (one JSON
file, ``{property id: outcome}``, tests/meta/test_self_check.py).  Rows: every
conformance property (its parametrizations together); columns: the broken
implementations whose file is in DIR, numbered, with a legend.  ``F`` failed,
``.`` ran and did not fail, blank not run: the self-check runs each broken
implementation only on the properties it names.  A property that no broken
implementation fails is marked; so is a named property that did not fail (the
self-check's own failure).  Then the broken implementations that only the
regression corpus (tests/corpus.txt) catches.
"""

import argparse
import json
import sys
from pathlib import Path

from implementations.broken import all_broken
from suite.properties import declared_ids

CORPUS = "corpus"


class TableError(ValueError):
    """DIR holds no outcomes this command can read."""


def read_outcomes(folder):
    """{broken implementation: {property id: outcome}} from the files in ``folder``;
    files that name no broken implementation are refused."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TableError(f"{folder}: no such folder (run the self-check with "
                         f"CONV2D_SELFCHECK_OUTCOMES={folder} first)")
    by_file = {broken.outcomes_file: broken for broken in all_broken()}
    found = {}
    for path in sorted(folder.glob("*.json")):
        if path.name not in by_file:
            raise TableError(f"{path}: names no broken implementation "
                             f"(expected MODULE.NAME.json of implementations/broken/)")
        try:
            outcomes = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise TableError(f"{path}: not an outcomes file ({error})") from None
        if not isinstance(outcomes, dict):
            raise TableError(f"{path}: not an outcomes file (expected {{property id: outcome}})")
        found[by_file[path.name]] = outcomes
    if not found:
        raise TableError(f"{folder}: no outcome files (*.json) in it")
    return found


def _base(item_id):
    return item_id.split("[", 1)[0]


def cell(outcomes, property_id):
    """'F' if some parametrization of ``property_id`` failed, '.' if it ran and none
    failed, ' ' if it did not run."""
    mine = [outcome for item, outcome in outcomes.items() if _base(item) == property_id]
    return "F" if "failed" in mine else "." if mine else " "


def table_lines(found, properties):
    """The table, its legend and its remarks, as lines."""
    columns = sorted(found, key=lambda broken: broken.spec)
    width = max(map(len, properties))
    numbers = "".join(str(number % 10) for number in range(1, len(columns) + 1))
    lines = [f"{'property':<{width}}  {numbers}  failed on"]
    never = []
    for property_id in properties:
        cells = "".join(cell(found[broken], property_id) for broken in columns)
        failed = cells.count("F")
        mark = "" if failed else "   <- no broken implementation fails it"
        if not failed:
            never.append(property_id)
        lines.append(f"{property_id:<{width}}  {cells}  {failed:>3}{mark}")
    lines += ["", "columns:"]
    lines += [f"  {number:>3}  {broken.spec}: {broken.bug}"
              for number, broken in enumerate(columns, 1)]
    lines += ["", f"{len(never)} of {len(properties)} properties failed on none of these "
                  f"{len(columns)} broken implementations"]
    for broken in columns:
        for entry in broken.missed(found[broken]):
            lines.append(f"NOT CAUGHT: {broken.spec} names {entry}, which did not fail on it")
    return lines


def corpus_only_lines(found):
    """The broken implementations whose failures (or, where not run, whose named
    properties) are all regression-corpus cases."""
    lines = []
    for broken in all_broken():
        if broken in found:
            failing = {_base(item) for item, outcome in found[broken].items()
                       if outcome == "failed"}
        else:
            failing = {_base(entry) for entry in broken.caught_by}
        if failing == {CORPUS}:
            ran = "" if broken in found else " (named, not run here)"
            lines.append(f"  {broken.spec}{ran}: {broken.bug}")
    return (["", "caught only by the regression corpus (tests/corpus.txt):"] + lines
            if lines else [])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.self_check_table",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", metavar="DIR",
                        help="where the self-check kept its outcomes (CONV2D_SELFCHECK_OUTCOMES)")
    args = parser.parse_args(argv)
    try:
        found = read_outcomes(args.folder)
    except TableError as error:
        parser.exit(2, f"python -m bench.self_check_table: error: {error}\n")
    properties = sorted(declared_ids())
    print("\n".join(table_lines(found, properties) + corpus_only_lines(found)))


if __name__ == "__main__":
    sys.exit(main())
