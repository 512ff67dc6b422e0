"""conv2d rejects exactly the calls the rules forbid, with torch's error.

Each drawn call breaks one rule (strategies/invalid.py), one test per rule so
every rule is reached on every run; the implementation must raise the
exception type torch raises for that rule (or a subclass), with the rule's
stable message fragment.  Valid calls never raise: every value property
calls the implementation on valid problems of every argument form.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import Rule
from strategies.invalid import invalid_cases
from suite.judge import judge, require
from suite.properties import conformance, needs
from suite.run import run


@conformance("errors")
@needs("errors")
@pytest.mark.parametrize("rule", list(Rule), ids=lambda rule: rule.value)
@given(data=st.data())
def test_a_call_that_breaks_one_rule_raises_torchs_error_for_it(conv2d, device, rule, data):
    case = data.draw(invalid_cases(rules=(rule,)), label="case")
    require(judge(case, run(conv2d, case, case.tensors(device=device))))
