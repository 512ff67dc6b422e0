"""The suite's own tests: marked ``meta`` and run apart from the conformance run.

``pytest -n auto`` gates a conv2d on the conformance properties alone;
``pytest -n auto -m meta`` tests the suite's tools (reference, case model,
strategies, judge, replay, drift, registry), as CI does.  The self-check and
the scale-out tests keep their own marks (``-m selfcheck``, ``-m scale``).

Without ``-m``, a run selects the conformance properties, plus what it names
under tests/meta: a file or folder there runs its ``meta`` tests (``pytest
tests/meta/test_layers.py``), a test named by its node id runs whatever its
marks; the self-check and the scale-out tests otherwise need their ``-m``
(they start subprocesses for minutes).  With ``-m`` the marks alone decide.

Those tools are checked on calls they choose, so a kernel's declared domain
(--conv2d-domain) does not hold while they run.
"""

from pathlib import Path

import pytest

from case import domain

HERE = Path(__file__).resolve().parent
APART = ("selfcheck", "selfcheck_sample", "scale")  # meta-tests with a step of their own


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in item.path.parents and not any(map(item.get_closest_marker, APART)):
            item.add_marker(pytest.mark.meta)
    if config.option.markexpr:
        return
    named = [_named(config, arg) for arg in config.args]
    keep = [item for item in items if HERE not in item.path.parents
            or any(_selects(path, node, item) for path, node in named)]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


def _named(config, arg):
    """(resolved path, node part or "") of a command-line argument."""
    path, _, node = arg.partition("::")
    return (config.invocation_params.dir / path).resolve(), node


def _selects(path, node, item):
    """Whether the argument ``path::node`` asks for ``item`` of tests/meta: a test named
    by its node id, whatever its marks; the ``meta`` tests of a file or folder."""
    if path == item.path and node:
        test = item.nodeid.split("::", 1)[1]
        return test == node or test.startswith((f"{node}[", f"{node}::"))
    return (path == item.path or path == HERE or HERE in path.parents) \
        and path in (item.path, *item.path.parents) and item.get_closest_marker("meta") is not None


@pytest.fixture(autouse=True)
def _all_of_conv2d():
    claimed = domain.active()
    domain.activate(domain.ALL)
    yield
    domain.activate(claimed)
