"""Per-sample gradients: the loop, the grouped trick and vmap(grad) give each
sample's input, weight and bias gradients, as the reference's adjoints say.

Exact tier only (the gradients are then exact in any summation order, see
per_sample.gradients.upstream_gradient): this is about which numbers end up
in which sample's gradient, the place where per-sample gradient code goes
wrong (Opacus #245: strides that leave a remainder), not about rounding.
"""

import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from per_sample import reference as per_sample_reference
from per_sample.formulations import grouped_trick, loop
from per_sample.gradients import backpropagated, upstream_gradient, vmapped_grad
from per_sample.verdict import check_identical
from strategies.per_sample import per_sample_cases, per_sample_cases_for_vmap

WAYS = {
    "backpropagated_through_loop": functools.partial(backpropagated, loop),
    "backpropagated_through_grouped_trick": functools.partial(backpropagated, grouped_trick),
    "vmap_of_grad": vmapped_grad,
}


# vmap meets torch 2.13's bias bug with one-element strides (strategies/per_sample.py).
CASES = {way: (per_sample_cases_for_vmap if way == "vmap_of_grad" else per_sample_cases)(
    tiers=("exact",)) for way in WAYS}


@pytest.mark.parametrize("way", WAYS)
@given(data=st.data())
def test_per_sample_gradients_are_the_adjoints_of_each_samples_own_call(conv2d, device, way,
                                                                        data):
    case = data.draw(CASES[way], label="case")
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    grad_output = upstream_gradient(case, arrays)
    actual = WAYS[way](conv2d, tensors, tensors[0].new_tensor(grad_output), case.arguments)
    expected = per_sample_reference.gradients(grad_output, *arrays, **case.arguments)
    for name, gradient, wanted in zip(("grad_input", "grad_weight", "grad_bias"), actual,
                                      expected):
        if wanted is not None:
            check_identical(case, f"{name} by {way}(conv2d)", gradient, wanted,
                            f"the reference's {name}, sample by sample")
