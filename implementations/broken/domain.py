"""A partial kernel that breaks its declared domain's promise to refuse the rest."""

import torch.nn.functional as F

from implementations.broken import broken
from implementations.partial import DOMAIN, claims, winograd_f4x3_only

OPTIONS = ("--conv2d-error-model=transform", f"--conv2d-domain={DOMAIN}")


@broken(caught_by=["domain.outside_raises"], options=OPTIONS)
def winograd_f4x3_computes_outside_its_domain(input, weight, bias=None, stride=1, padding=0,
                                             dilation=1, groups=1):
    """Declares outside = 'raise' (winograd_f4x3.toml) but hands 1x1 kernels to F.conv2d."""
    if tuple(weight.shape[-2:]) == (1, 1) and not claims(input, weight, stride, dilation):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    return winograd_f4x3_only(input, weight, bias, stride, padding, dilation, groups)
