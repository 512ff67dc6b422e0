"""The case model: one conv2d problem from strategy to replayable descriptor.

``parse`` reads any descriptor back into its case, of whichever kind.
"""

from case import descriptor
from case.descriptor import DescriptorError
from case.formulations import FORMULATIONS
from case.model import DTYPES, LAYOUTS, PADDING_MODES, TIERS, Case, Conv2dCase
from case.per_sample import PerSampleCase

# Words that are whole descriptor fields: layout, tier, padding mode, formulation.
_WORDS = {**{word: ("layout", word) for word in LAYOUTS},
          **{word: ("tier", word) for word in TIERS},
          **{word: ("padding_mode", word) for word in PADDING_MODES if word != "zeros"},
          **{word: ("formulation", word) for word in FORMULATIONS}}


def parse(text):
    """The case a descriptor names (one that names a formulation: a ``PerSampleCase``);
    ``DescriptorError`` names a bad field."""
    fields, transforms = descriptor.parse_fields(text, dtypes=DTYPES, words=_WORDS)
    kind = PerSampleCase if "formulation" in fields else Conv2dCase
    try:
        case = kind.from_fields(fields)
        for transform in transforms:
            case = case.derive(transform)
    except ValueError as error:  # TransformError and the models' own checks
        raise DescriptorError(f"{text!r}: {error}") from None
    return case


__all__ = ["DTYPES", "Case", "Conv2dCase", "DescriptorError", "LAYOUTS", "PADDING_MODES",
           "PerSampleCase", "TIERS", "parse"]
