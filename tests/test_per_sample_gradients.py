"""Per-sample gradients: the loop, the grouped trick and vmap(grad) give each
sample's input, weight and bias gradients, as the reference's adjoints say.

Exact tier only (the gradients are then exact in any summation order, see
``PerSampleCase.grad_output``): this is about which numbers end up in which
sample's gradient, the place where per-sample gradient code goes wrong
(Opacus #245: strides that leave a remainder), not about rounding.  The
``vmap`` formulation's gradients are ``vmap(grad(...))``, as in PyTorch's
per-sample-gradients tutorial; the others' are autograd through the
formulation (case/formulations.py).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from case.derivatives import per_sample_gradients
from case.formulations import per_sample_gradients as backpropagate
from strategies.per_sample import per_sample_cases
from suite.judge import expect, require
from suite.properties import conformance, needs

WAYS = {"backpropagated_through_loop": "loop",
        "backpropagated_through_grouped_trick": "grouped_trick",
        "vmap_of_grad": "vmap"}


@conformance("per_sample.gradients")
@needs("autograd.backward")
@pytest.mark.parametrize("way", [pytest.param(way, marks=needs("vmap")) if WAYS[way] == "vmap"
                                 else way for way in WAYS])
@given(data=st.data())
def test_per_sample_gradients_are_the_adjoints_of_each_samples_own_call(conv2d, device, model,
                                                                        way, data):
    case = data.draw(per_sample_cases(formulations=(WAYS[way],), tiers=("exact",)), label="case")
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    grad_output = case.grad_output(arrays)
    try:
        actual = backpropagate(case.formulation, conv2d, tensors,
                               tensors[0].new_tensor(grad_output), case.arguments)
    except Exception as error:  # judged like any call that raises, the registry consulted
        actual = [error] * 3
    expected = per_sample_gradients(case, arrays, grad_output, WAYS[way])
    for name, gradient in zip(("grad_input", "grad_weight", "grad_bias"), actual):
        if name in expected:
            require(expect(case, gradient, expected[name], model=model))
