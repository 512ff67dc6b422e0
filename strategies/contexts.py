"""The contexts a drawn call is made in (case/context.py), drawn per case.

A property that is about one context draws it for every case (``with_context``);
every choice shrinks towards the plain call (all tensors requiring grad, a
contiguous gradient, the run's threads, grad mode, no history).
"""

import itertools

from hypothesis import strategies as st

from case.context import GRAD_OUTPUT_LAYOUTS, CallContext
from strategies.kernel_probes import with_probes

# Intra-op thread counts besides the run's one: two, and three, which divides no
# power-of-two batch, channel count or block.
THREADS = (2, 3)
# How many related calls a history draws before the call (case/history.py).
MAX_AFTER = 4


def _subsets(names):
    """Every nonempty subset of ``names``, the whole set first (what it shrinks to)."""
    return [subset for size in range(len(names), 0, -1)
            for subset in itertools.combinations(names, size)]


@st.composite
def with_context(draw, cases, *, requires_grad=False, grad_output=False, threads=False,
                 after=False):
    """``cases``, each with a drawn context: which of its tensors require grad, the
    layout of the gradient handed to backward, the intra-op thread count, the number
    of related calls made before it."""
    case = draw(cases)
    fields = {}
    if requires_grad:
        present = ["input", "weight"] + (["bias"] if case.has_bias else [])
        fields["requires_grad"] = draw(st.sampled_from(_subsets(present)), label="requires_grad")
    if grad_output:
        fields["grad_output"] = draw(st.sampled_from(GRAD_OUTPUT_LAYOUTS), label="grad_output")
    if threads:
        fields["threads"] = draw(st.sampled_from(THREADS), label="threads")
    if after:
        fields["after"] = draw(st.integers(1, MAX_AFTER), label="after")
    return case.replace(context=CallContext(**fields)) if fields else case


# Every subset of the tensors requiring grad and every layout of the gradient handed
# to backward, on one small call with a bias: reached on every run, whatever the draw.
_EXAMPLE = "in2x4x5x5:w4x2x3x3:b4:s1:p1:d1:g2:float32:contiguous:exact:seed0"
CONTEXT_EXAMPLES = tuple(
    [f"{_EXAMPLE}:context(grad={'+'.join(subset)})"
     for subset in _subsets(("input", "weight", "bias"))[1:]]
    + [f"{_EXAMPLE}:context(grad_output={layout})" for layout in GRAD_OUTPUT_LAYOUTS[1:]])


with_context_examples = with_probes(CONTEXT_EXAMPLES)
