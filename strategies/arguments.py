"""The forms in which one (height, width) argument may be passed to conv2d.

conv2d accepts an int, a 1-tuple, a 2-tuple or a list for stride, padding and
dilation; a kernel that gets the numbers right but mishandles a form is a bug
the suite must reach, so every pair is drawn in every form that can spell it.
"""

from hypothesis import strategies as st


def spellings(pair):
    """Every way conv2d accepts to spell the per-axis ``pair``."""
    first, second = pair
    if first == second:
        return [first, (first,), (first, second), [first, second], [first]]
    return [(first, second), [first, second]]


def argument_forms(pair):
    """A strategy for ``pair`` in one of its spellings (the plain int first)."""
    return st.sampled_from(spellings(pair))
