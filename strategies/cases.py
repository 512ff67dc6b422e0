"""The drawn case: a problem's sizes, then its data features and its call's spelling.

``conv2d_cases`` is strategies/problems.py's ``conv2d_problems`` (same arguments: the sizes and
arguments of the problem) followed by strategies/data.py's draws: every case
gets a spelling of its call and, unless ``shaped=False``, each tensor's
density, sign pattern and special values; ``magnitudes`` chooses the scale
regimes (only ``unit`` by default: the edges of the number range are for the
properties that compare with the reference and know what a correct result is
there, tests/test_forward_values.py and tests/test_value_edges.py).
"""

from hypothesis import strategies as st

from strategies import data
from strategies import problems


def conv2d_cases(*, magnitudes=("unit",), shaped=True, spellings=data.SPELLINGS,
                 **problem_bounds):
    """Valid ``Conv2dCase``s with drawn data features and call spelling.

    - ``magnitudes``: the scale regimes drawn (strategies/data.py ``MAGNITUDES``);
    - ``shaped``: also draw density, sign pattern and special values;
    - ``spellings``: the call spellings drawn (case/spellings.py);
    - ``problem_bounds``: ``strategies.problems.conv2d_problems``'s arguments.

    >>> conv2d_cases(magnitudes=("subnormal_input",)).example()  # doctest: +SKIP
    parse('in1x2x3x3:w2x2x1x1:s1:p0:d1:g1:float32:contiguous:exact:seed7:input(e-140)')
    """
    data.validate_magnitudes(magnitudes)
    return _with_data_and_spelling(problems.conv2d_problems(**problem_bounds), tuple(magnitudes),
                                   shaped, data.call_spellings(spellings))


@st.composite
def _with_data_and_spelling(draw, cases, magnitudes, shaped, spellings):
    case = draw(data.with_data_features(draw(cases), magnitudes=magnitudes, shaped=shaped))
    spelling = draw(spellings, label="spelling")
    return case.replace(spelling=spelling) if case.padding_mode == "zeros" else case
