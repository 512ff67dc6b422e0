"""The suite's own tests: marked ``meta`` and run apart from the conformance run.

``pytest -n auto`` gates a conv2d on the conformance properties alone;
``pytest -n auto -m meta`` tests the suite's tools (reference, case model,
strategies, judge, replay, drift, registry), as CI does.  The self-check and
the scale-out tests keep their own marks (``-m selfcheck``, ``-m scale``).

Those tools are checked on calls they choose, so a kernel's declared domain
(--conv2d-domain) does not hold while they run.
"""

from pathlib import Path

import pytest

from case import domain

HERE = Path(__file__).resolve().parent
APART = ("selfcheck", "selfcheck_sample", "scale")  # meta-tests with a step of their own


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in item.path.parents and not any(map(item.get_closest_marker, APART)):
            item.add_marker(pytest.mark.meta)


@pytest.fixture(autouse=True)
def _all_of_conv2d():
    claimed = domain.active()
    domain.activate(domain.ALL)
    yield
    domain.activate(claimed)
