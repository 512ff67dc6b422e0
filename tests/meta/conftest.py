"""Tests of the suite's own tools check those tools on calls they choose, so a
kernel's declared domain (--conv2d-domain) does not hold while they run."""

import pytest

from strategies import domain


@pytest.fixture(autouse=True)
def _all_of_conv2d():
    claimed = domain.active()
    domain.activate(domain.ALL)
    yield
    domain.activate(claimed)
