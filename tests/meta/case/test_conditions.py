"""The names a condition may use are exactly what every kind of case says about itself.

Registry entries and declared domains write conditions over case/conditions.py's
names; a name no case supplies would make every condition that uses it raise
NameError on every call, and a fact no name admits could never be written.
"""

import pytest

from case import parse
from case.conditions import CASE_NAMES, ConditionError, compile_condition, holds

CASES = {"conv2d": "in2x4x5x5:w6x2x3x3:b6:s1:p1:d1:g2:float32:contiguous:exact:seed0",
         "invalid conv2d": "in2x3x5x5:w6x2x3x3:s1:p1:d1:g2:float32:contiguous:exact:seed0",
         "derived conv2d": "in2x4x5x5:w6x2x3x3:s1:p1:d1:g2:float32:contiguous:exact:seed0"
                           ":poison(0.1.2.2,nan,1)",
         "per_sample": "in3x4x7x7:w3x2x2x3x3:b3x2:s1:p0:d1:g2:float32:contiguous:exact:seed5"
                       ":grouped_trick"}


@pytest.mark.parametrize("descriptor", CASES.values(), ids=CASES)
def test_every_case_supplies_exactly_the_condition_names(descriptor):
    facts = parse(descriptor).facts()
    assert set(facts) == set(CASE_NAMES), (
        f"facts() has {sorted(set(facts) - set(CASE_NAMES))} beyond and lacks "
        f"{sorted(set(CASE_NAMES) - set(facts))} of case/conditions.py's CASE_NAMES, but "
        f"should have exactly them [{descriptor}]")


@pytest.mark.parametrize("descriptor", CASES.values(), ids=CASES)
def test_a_condition_over_every_name_evaluates_on_every_case(descriptor):
    code = compile_condition(" or ".join(f"{name} is None" for name in CASE_NAMES),
                             CASE_NAMES, "every name")
    assert holds(code, parse(descriptor).facts()) in (True, False)


def test_a_misspelt_name_is_refused_when_compiled():
    with pytest.raises(ConditionError, match="unknown names .'dtpye'."):
        compile_condition("dtpye == 'float32'", CASE_NAMES, "typo")
