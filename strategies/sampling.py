"""What a strategy draws outside a test: the values of one Hypothesis search.

The meta-tests and benches that count what the strategies reach
(tests/meta/test_size_regimes.py, bench/kernel_reach.py) draw as a run does:
the generate phase alone, no database, no deadline, no health checks;
derandomised (what a ci run draws) or from a seed (one of the searches a
randomised run may make).
"""

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seeded


def drawn(strategy, examples, seed=None):
    """The values of ``examples`` draws of ``strategy``: derandomised, or from ``seed``."""
    values = []

    @settings(max_examples=examples, database=None, derandomize=seed is None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def collect(value):
        values.append(value)
    (collect if seed is None else seeded(seed)(collect))()
    return values
