"""The per-sample strategy reaches the corners where the note's misreadings show.

The formulation runs on the reference itself, so only the strategy is on trial.
"""

import numpy as np
from hypothesis import find, settings

from case.formulations import grouped_trick_in_the_wrong_order
from implementations.correct import numpy_reference
from reference import per_sample as per_sample_reference
from strategies.per_sample import per_sample_cases
from suite.judge import as_numpy


def test_the_per_sample_strategy_reaches_where_a_wrong_reshape_order_shows():
    """Folding the batch into groups in the wrong order is right unless both N > 1
    and g > 1; Hypothesis must find a case where it is wrong, and the case it
    shrinks to must lie in that corner."""
    def wrong_order_is_wrong(case):
        arrays = case.arrays()
        out = grouped_trick_in_the_wrong_order(numpy_reference, *case.tensors(arrays),
                                               **case.arguments)
        return not np.array_equal(as_numpy(out),
                                  per_sample_reference.conv2d(*arrays, **case.arguments))

    found = find(per_sample_cases(formulations=("loop",), dtypes=("float64",), tiers=("exact",)),
                 wrong_order_is_wrong,
                 settings=settings(max_examples=200, derandomize=True, database=None,
                                   deadline=None))
    assert found.batch > 1 and found.groups > 1, (
        f"the wrong reshape order was caught at N={found.batch}, g={found.groups}, but it can "
        f"only be wrong when both exceed 1 [{found!r}]")
