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

from case.formulations import per_sample_gradients
from reference import per_sample as per_sample_reference
from strategies.per_sample import per_sample_cases
from suite.judge import agree, require
from suite.properties import conformance

WAYS = {"backpropagated_through_loop": "loop",
        "backpropagated_through_grouped_trick": "grouped_trick",
        "vmap_of_grad": "vmap"}


@conformance("per_sample.gradients")
@pytest.mark.parametrize("way", WAYS)
@given(data=st.data())
def test_per_sample_gradients_are_the_adjoints_of_each_samples_own_call(conv2d, device, way,
                                                                        data):
    case = data.draw(per_sample_cases(formulations=(WAYS[way],), tiers=("exact",)), label="case")
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    grad_output = case.grad_output(arrays)
    try:
        actual = per_sample_gradients(case.formulation, conv2d, tensors,
                                      tensors[0].new_tensor(grad_output), case.arguments)
    except Exception as error:  # judged like any call that raises, the registry consulted
        actual = [error] * 3
    expected = per_sample_reference.gradients(grad_output, *arrays, **case.arguments)
    for name, gradient, wanted in zip(("grad_input", "grad_weight", "grad_bias"), actual,
                                      expected):
        if wanted is not None:
            require(agree(case, gradient, wanted, exact=True, name=f"{name} by {way}(conv2d)",
                          source=f"the reference's {name}, sample by sample"))
