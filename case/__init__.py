"""The case model: one conv2d problem from strategy to replayable descriptor."""

from case.descriptor import DescriptorError
from case.model import DTYPES, LAYOUTS, TIERS, Conv2dCase

__all__ = ["DTYPES", "DescriptorError", "LAYOUTS", "TIERS", "Conv2dCase"]
