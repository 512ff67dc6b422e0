"""Stable names for the conformance properties, and running a chosen few of them.

A conformance property is a test marked ``@conformance("family.name")``; its
id (plus ``[param]`` for a parametrized test) is what the self-check's broken
implementations name, so renaming a test function or moving it to another
file changes nothing.  Tests without the mark are tests of the suite itself.

Options (used by the self-check, tests/meta/test_self_check.py):
  --conv2d-properties=ID[,ID...]  run only these properties (an id without
                                  ``[param]`` takes every parametrization)
  --conv2d-outcomes=PATH          write {property id: outcome} as JSON
"""

import ast
import json
from pathlib import Path

import pytest
from hypothesis.errors import FailedHealthCheck, Unsatisfiable

from case import domain

MARK = "conv2d_property"
CONFORMANCE = Path(__file__).resolve().parent.parent / "tests"


CLAIMS_MARK = "conv2d_claims"


def conformance(property_id):
    """Mark a test as the conformance property ``property_id``."""
    return getattr(pytest.mark, MARK)(property_id)


def needs(*claims):
    """Mark a property (or one parametrization) as being about ``claims`` beyond values
    (case/domain.py ``Claims.lacks``: "autograd.backward", "errors", "vmap", ...): an
    implementation whose declared domain does not make them skips it, saying so."""
    return getattr(pytest.mark, CLAIMS_MARK)(*claims)


def claims_of(case):
    """The claims a case's own check is about: rejecting an invalid call ("errors"),
    running under torch.func.vmap (the vmap formulation of a per-sample case)."""
    if case.rule() is not None:
        return ("errors",)
    if getattr(case, "formulation", None) == "vmap":
        return ("vmap",)
    return ()


def missing_claims(item, claims):
    """The claims ``item`` is about that ``claims`` (a ``Claims``) does not make."""
    needed = [claim for mark in item.iter_markers(CLAIMS_MARK) for claim in mark.args]
    return claims.lacks(needed)


def property_id(item):
    """``family.name[param]`` of a conformance property's test item, else None."""
    mark = item.get_closest_marker(MARK)
    if mark is None:
        return None
    callspec = getattr(item, "callspec", None)
    return mark.args[0] + (f"[{callspec.id}]" if callspec else "")


def declared_ids(directory=CONFORMANCE):
    """{property id: file name} of every ``@conformance("...")`` test in the conformance
    files (``test_*.py`` of ``directory``), read from their sources without importing them."""
    ids = {}
    for path in sorted(Path(directory).glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    if (isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None)
                            == "conformance"):
                        ids[decorator.args[0].value] = path.name
    return ids


def names(selected, item_id):
    """Whether the selection entry ``selected`` names the property ``item_id``."""
    return item_id == selected or item_id.split("[", 1)[0] == selected


def add_options(group):
    group.addoption("--conv2d-properties", default=None, metavar="ID[,ID...]",
                    help="run only the conformance properties with these ids (an id without "
                         "[param] selects every parametrization)")
    group.addoption("--conv2d-outcomes", default=None, metavar="PATH",
                    help="write each conformance property's outcome to PATH as JSON")


class PropertyPlugin:
    """Selects properties by id and records their outcomes."""

    def __init__(self, config):
        chosen = config.getoption("conv2d_properties")
        self.chosen = None if chosen is None else [part for part in chosen.split(",") if part]
        self.path = config.getoption("conv2d_outcomes")
        self.outcomes = {}
        self.ids = {}  # node id -> property id, from each test's first report

    def pytest_collection_modifyitems(self, config, items):
        if self.chosen is None:
            return
        ids = {item.nodeid: property_id(item) for item in items}
        unknown = [chosen for chosen in self.chosen
                   if not any(item_id and names(chosen, item_id) for item_id in ids.values())]
        if unknown:
            raise pytest.UsageError(f"--conv2d-properties: no conformance property is named "
                                    f"{', '.join(unknown)}")
        keep = [item for item in items if ids[item.nodeid] and any(
            names(chosen, ids[item.nodeid]) for chosen in self.chosen)]
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        """A property every call of which the declared domain refuses (a refusal such as
        ``in_channels == 0`` against the zero-channel property) has nothing to check:
        skipped, saying so, where Hypothesis would report that it filtered everything;
        any other filtering Hypothesis reports stays an error."""
        domain.tally.clear()
        try:
            return (yield)
        except (Unsatisfiable, FailedHealthCheck):
            if domain.tally["refused"] and not domain.tally["admitted"]:
                refusals = [text for text, _ in domain.active().refuses]
                pytest.skip(f"the declared domain refuses every call this property drew "
                            f"(refuses {refusals})")
            raise

    def pytest_runtest_setup(self, item):
        lacking = missing_claims(item, domain.active().claims)
        if lacking:
            pytest.skip(f"the implementation does not claim {', '.join(lacking)} ([claims] of "
                        f"its declared domain)")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        outcome.get_result().conv2d_property = property_id(item)

    def pytest_runtest_logreport(self, report):
        # xdist's report of a dead worker carries no attributes: its setup report did.
        item_id = getattr(report, "conv2d_property", None) or self.ids.get(report.nodeid)
        if item_id is None:
            return
        self.ids[report.nodeid] = item_id
        if report.when == "call" or report.outcome != "passed":
            previous = self.outcomes.get(item_id)
            if previous != "failed":
                self.outcomes[item_id] = report.outcome

    def pytest_sessionfinish(self, session):
        if self.path and not hasattr(session.config, "workerinput"):
            Path(self.path).write_text(json.dumps(self.outcomes, indent=1, sort_keys=True))
