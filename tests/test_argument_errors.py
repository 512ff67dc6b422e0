"""conv2d rejects exactly the calls the rules forbid, with torch's error.

Each drawn call breaks one rule (strategies/invalid.py), one test per rule so
every rule is reached on every run; the implementation must raise the exception type torch raises for that rule, with the rule's
stable message fragment.  Valid calls never raise: every value property
calls the implementation on valid problems of every argument form.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import Rule
from strategies.invalid import invalid_cases
from suite.verdict import call, describe_call


@pytest.mark.parametrize("rule", list(Rule), ids=lambda rule: rule.value)
@given(data=st.data())
def test_a_call_that_breaks_one_rule_raises_torchs_error_for_it(conv2d, device, rule, data):
    case, _ = data.draw(invalid_cases(rules=(rule,)), label="case, rule")
    tensors = case.tensors(device=device)
    with pytest.raises(Exception) as raised:
        output = call(conv2d, case, tensors)
        pytest.fail(f"returned a tensor of shape {tuple(output.shape)}, but should raise "
                    f"{rule.torch_error.__name__} because {rule.statement} "
                    f"[{describe_call(case)}]")
    error = raised.value
    assert isinstance(error, rule.torch_error), (
        f"raised {type(error).__name__}: {error}, but should raise {rule.torch_error.__name__} "
        f"because {rule.statement} [{describe_call(case)}]")
    assert rule.fragment is None or rule.fragment.search(str(error)), (
        f"message {str(error)[:300]!r} lacks torch's fragment /{rule.fragment.pattern}/ "
        f"for the rule {rule.statement!r} [{describe_call(case)}]")
