"""The specification of torch.nn.functional.conv2d, executable, in NumPy.

- ``conv2d``: the value of a call (float64 / complex128);
- ``resolve`` / ``output_shape``: the rules a call must satisfy, and its geometry;
- ``grad_input``, ``grad_weight``, ``grad_bias``: the adjoints;
- ``magnitude``, ``error_bound``, ``ErrorModel``: how far a correct implementation
  may be off;
- ``output_memory_format`` (memory_format.py): the layout of the result;
- ``per_sample``: the definition of a convolution with a weight per sample.
"""

from reference.adjoints import grad_bias, grad_input, grad_weight
from reference.arguments import Geometry, output_length, output_shape, resolve
from reference.forward import conv2d
from reference.memory_format import output_memory_format
from reference.numerics import ErrorModel, magnitude
from reference.rounding import UNIT_ROUNDOFF, error_bound, gamma
from reference.rules import ConvArgumentError, Rule

__all__ = [
    "ConvArgumentError", "ErrorModel", "Geometry", "Rule", "UNIT_ROUNDOFF", "conv2d",
    "error_bound", "gamma", "grad_bias", "grad_input", "grad_weight", "magnitude",
    "output_length", "output_memory_format", "output_shape", "resolve",
]
