"""Imports point one way: down the layers, never up.

reference/ (the specification) < case/ (the case model) < strategies/ <
suite/ (running, judging, reporting) < implementations/ and tests/ (the
conformance properties, and conftest.py that serves them) < bench/ (tools
that run properties and implementations) < tests/meta/ (the suite's own
tests, which test every layer, bench's tools included, and which nothing
imports).  A module may import its own layer and those below; an import
inside a function counts like any other.  The conformance properties judge
a conv2d and report nothing themselves: they import no report module.  The
reproductions of torch's bugs (docs/torch-bugs/) are sent upstream as they
are: they import nothing of the suite.

Read from the sources (ast), so a violation is found without importing it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("reference", "case", "strategies", "suite", ("implementations", "tests"), "bench",
          "tests.meta")
RANK = {name: rank for rank, layer in enumerate(LAYERS)
        for name in (layer if isinstance(layer, tuple) else (layer,))}
# Sources outside the layers, which import nothing of the suite: the reproductions of
# bugs sent upstream, and the command that finds the suite's tree from elsewhere.
STANDALONE = {"docs", "conv2d_conformance.py"}
REPORTS = ("suite.coverage", "suite.onednn", "suite.cuda_kernels", "suite.summary", "suite.drift")
SKIPPED = {".git", ".venv", "venv", "build", "__pycache__"}


def _module_name(path):
    """``suite.coverage`` for suite/coverage.py; the root conftest.py serves tests/."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts == ("conftest",):
        return "tests.conftest"
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module):
    """The layer a dotted module name belongs to, or None for what is not the suite's."""
    if module == "tests.meta" or module.startswith("tests.meta."):
        return "tests.meta"
    top = module.split(".", 1)[0]
    return top if top in RANK else None


SOURCES = sorted(path for path in ROOT.rglob("*.py")
                 if not SKIPPED.intersection(path.relative_to(ROOT).parts))
MODULES = {_module_name(path) for path in SOURCES}


def _imports(path):
    """(line, imported module) for every absolute import in ``path``, nested ones too;
    ``from package import name`` imports ``package.name`` where that is a module."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield node.lineno, submodule if submodule in MODULES else node.module


def _named(layer):
    return layer if isinstance(layer, str) else ", ".join(layer)


def _where(path, line):
    return f"{path.relative_to(ROOT)}:{line}"


def test_no_module_imports_a_layer_above_its_own():
    upward = sorted({f"{_where(path, line)} ({own}) imports {module} ({theirs})"
                     for path in SOURCES if (own := _layer(_module_name(path))) is not None
                     for line, module in _imports(path)
                     if (theirs := _layer(module)) is not None and RANK[theirs] > RANK[own]})
    assert not upward, (
        f"{len(upward)} imports run up the layers, but none should "
        f"[{' < '.join(map(_named, LAYERS))}]:\n" + "\n".join(upward))


@pytest.mark.parametrize("path", [path for path in SOURCES
                                  if path.parent == ROOT / "tests"
                                  and path.name.startswith("test_")],
                         ids=lambda path: path.name)
def test_a_conformance_property_imports_no_report_module(path):
    reports = [f"{_where(path, line)} imports {module}" for line, module in _imports(path)
               if module in REPORTS or module.startswith(tuple(f"{r}." for r in REPORTS))]
    assert not reports, (
        f"{reports}, but a conformance property should judge conv2d only; what it observes "
        f"is reported by the suite's plugins [{', '.join(REPORTS)}]")


def test_the_reproductions_of_torchs_bugs_import_nothing_of_the_suite():
    standalone = [f"{_where(path, line)} imports {module}" for path in SOURCES
                  if _layer(_module_name(path)) is None
                  for line, module in _imports(path) if _layer(module) is not None]
    assert not standalone, (
        f"{standalone}, but the sources outside the layers ({', '.join(sorted(STANDALONE))}) "
        f"should run with their own imports alone")


def test_every_source_belongs_to_a_layer_or_stands_alone():
    """A new top-level folder must be placed in LAYERS (or stand alone, as docs/ does)."""
    unplaced = sorted({path.relative_to(ROOT).parts[0] for path in SOURCES
                       if _layer(_module_name(path)) is None} - STANDALONE)
    assert not unplaced, (
        f"top-level folders {unplaced} are in no layer, but every folder of Python "
        f"sources should be [{__name__}.LAYERS]")
