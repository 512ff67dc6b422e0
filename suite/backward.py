"""Backpropagating through a call the way programs do: what the properties differentiate.

The call is made by ``suite.run.run`` in its context (case/context.py): only
the tensors the context names require grad (frozen weights ask for grad_input
alone, a first layer for grad_weight alone), and the gradient handed to
backward has the context's layout (expanded from ``out.sum()``, another
memory format, a strided or offset view).  Backward itself runs in the call's
threads.  A pass that raises, a gradient that is missing or one that appears
for a tensor that does not require grad fails the property through the judge.
"""

from case.context import TENSORS
from case.derivatives import gradients
from case.tensors import grad_output_tensor
from suite.judge import expect, fail_autograd, fail_with, output_of, require
from suite.run import called_as, run


def backward(conv2d, case, device, arrays, grad_output, *, tensors=None):
    """{"input.grad", ...: gradient} of the tensors that require grad, after
    backpropagating ``grad_output`` (NumPy) through the call on ``arrays`` (or on
    ``tensors``, made with ``requires_grad=True``)."""
    __tracebackhide__ = True
    if tensors is None:
        tensors = case.tensors(arrays, device=device, requires_grad=True)
    out = output_of(case, run(conv2d, case, tensors))
    asked = [name for name, tensor in zip(TENSORS, tensors)
             if tensor is not None and tensor.requires_grad]
    if not out.requires_grad:
        fail_with(case, f"out does not require grad, but should: {', '.join(asked)} do")
    try:
        with called_as(case.context, case.dtype, device):
            out.backward(grad_output_tensor(case, grad_output, out))
    except Exception as error:  # noqa: BLE001 - any exception of a pass is a finding
        fail_autograd(case, "backward", error, device)
    gradients = {}
    for name, tensor in zip(TENSORS, tensors):
        if tensor is None:
            continue
        if name not in asked:
            if tensor.grad is not None:
                fail_with(case, f"{name}.grad is a tensor after backward, but should be None: "
                                f"{name} does not require grad")
            continue
        if tensor.grad is None:
            fail_with(case, f"{name}.grad is None after backward, but should be a tensor")
        gradients[f"{name}.grad"] = tensor.grad
    return gradients



def check_gradients(conv2d, case, device, model):
    """Backpropagate the case's grad_output through its call and require each gradient
    asked for to be the reference adjoint's, as the judge compares them."""
    __tracebackhide__ = True
    arrays = case.arrays()
    grad_output = case.grad_output(arrays)
    actual = backward(conv2d, case, device, arrays, grad_output)
    asked = [name.removesuffix(".grad") for name in actual]
    for name, quantity in gradients(case, arrays, grad_output, wrt=asked).items():
        require(expect(case, actual[name], quantity, model=model))
