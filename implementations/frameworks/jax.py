"""JAX's ``lax.conv_general_dilated`` (XLA:CPU) behind F.conv2d's signature.

Dimension numbers NCHW/OIHW/NCHW, ``feature_group_count`` for groups,
``rhs_dilation`` for dilation, explicit ``(lo, hi)`` pads, or JAX's ``'SAME'``
and ``'VALID'`` where the call says ``'same'`` or ``'valid'`` (JAX's SAME pads
the dilated kernel's extent minus one at stride 1, the odd one after: torch's
split); the bias added in JAX.  Settings, made before JAX is first imported:
``jax_enable_x64`` (otherwise float64 silently becomes float32),
``jax_platforms=cpu``, ``precision=HIGHEST``, and XLA_FLAGS
``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` (one
thread: the suite runs a process per core).  XLA:CPU flushes subnormals to
zero; the domain file's [claims] says so.
"""

import functools
import os

from implementations.frameworks.arguments import (batched, declare, resolve, to_numpy, to_torch,
                                                  unbatched)

XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


@functools.cache
def _lax():
    """jax.lax, imported once with this adapter's settings."""
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {XLA_FLAGS}".strip()
    import jax
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", True)
    return jax.lax


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """F.conv2d computed by jax.lax.conv_general_dilated."""
    lax = _lax()
    call = resolve(input, weight, stride, padding, dilation, groups)
    top, bottom, left, right = call.pads
    pads = {"same": "SAME", "valid": "VALID"}.get(call.padding, [(top, bottom), (left, right)])
    y = lax.conv_general_dilated(
        batched(to_numpy(input), call), to_numpy(weight), window_strides=call.stride,
        padding=pads, rhs_dilation=call.dilation, dimension_numbers=("NCHW", "OIHW", "NCHW"),
        feature_group_count=call.groups, precision=lax.Precision.HIGHEST)
    if bias is not None:
        y = y + to_numpy(bias)[:, None, None]
    return to_torch(unbatched(y.__array__(), call), input)


declare(conv2d, "jax", "jax")
