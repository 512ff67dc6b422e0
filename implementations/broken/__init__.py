"""Deliberately broken conv2d implementations: the suite's self-check.

Each is registered with ``@broken(caught_by=...)``: the stable ids of the
conformance properties that must fail on it (suite/properties.py): an id
with ``[param]`` must fail, an id without it must fail in at least one of its
parametrizations.  tests/meta/test_self_check.py
runs those properties with ``--conv2d-impl`` set to each one and asserts that
they fail, and checks that every conformance property is named by at least
one broken implementation.  Modules are grouped by property family.
"""

import dataclasses
import importlib
import pkgutil

REGISTRY = {}


@dataclasses.dataclass(frozen=True)
class BrokenImplementation:
    name: str
    module: str
    caught_by: tuple
    bug: str
    kills_the_process: bool = False
    options: tuple = ()  # pytest options it is judged under (an error model)

    @property
    def spec(self):
        """The ``--conv2d-impl`` value that selects it."""
        return f"{self.module}:{self.name}"

    @property
    def outcomes_file(self):
        """The name of its outcomes' file (``{property id: outcome}``) in the self-check's
        folder: the self-check writes it, bench/self_check_table.py reads it back."""
        return f"{self.module}.{self.name}.json"

    def missed(self, outcomes):
        """The ids in ``caught_by`` that did not fail in ``outcomes`` (the self-check's
        failure): an id with ``[param]`` must fail itself, one without it in some
        parametrization."""
        return [entry for entry in self.caught_by
                if not any(outcome == "failed" and entry in (item, item.split("[", 1)[0])
                           for item, outcome in outcomes.items())]


def broken(*, caught_by, kills_the_process=False, options=()):
    """Register a broken implementation and the properties that must catch it
    (``kills_the_process``: it crashes, so the self-check runs it under xdist;
    ``options``: the suite's options it is judged under, e.g. an error model)."""
    if isinstance(caught_by, str) or not caught_by:
        raise ValueError("caught_by: a non-empty list of conformance property ids")

    def register(function):
        doc = (function.__doc__ or "").strip()
        if not doc:
            raise ValueError(f"{function.__name__}: say what the bug is in its docstring")
        bug = " ".join(doc.split("\n\n")[0].split())  # the docstring's first paragraph
        entry = BrokenImplementation(function.__name__, function.__module__, tuple(caught_by),
                                     bug, kills_the_process, tuple(options))
        REGISTRY[entry.spec] = entry
        return function
    return register


def all_broken():
    """Every registered broken implementation, importing each family module."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return sorted(REGISTRY.values(), key=lambda entry: entry.spec)
