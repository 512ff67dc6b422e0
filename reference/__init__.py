"""The specification of torch.nn.functional.conv2d, executable, in NumPy.

- ``conv2d``: the value of a call (float64 / complex128);
- ``resolve`` / ``output_shape``: the rules a call must satisfy, and its geometry;
- ``grad_input``, ``grad_weight``, ``grad_bias``: the adjoints;
- ``magnitude``, ``error_bound``: how far a correct implementation may be off.
"""

from reference.adjoints import grad_bias, grad_input, grad_weight
from reference.arguments import Geometry, output_length, output_shape, resolve
from reference.forward import conv2d
from reference.numerics import UNIT_ROUNDOFF, error_bound, gamma, magnitude
from reference.rules import ConvArgumentError, Rule

__all__ = [
    "ConvArgumentError", "Geometry", "Rule", "UNIT_ROUNDOFF", "conv2d", "error_bound",
    "gamma", "grad_bias", "grad_input", "grad_weight", "magnitude", "output_length",
    "output_shape", "resolve",
]
