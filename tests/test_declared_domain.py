"""A kernel that declares ``outside = "raise"`` rejects every call outside its domain.

A partial kernel (``--conv2d-domain``: case/domain.py) is judged only
inside the domain it declares; the other calls are not drawn, and those a
property derives are not made.  A kernel may promise more: that it refuses
what it does not claim rather than compute something.  This property holds
it to that promise with valid calls drawn from all of conv2d that lie outside
the domain; without the promise (or without a domain) it has nothing to check.
"""

import pytest
from hypothesis import given

from case import domain
from strategies import conv2d_cases
from suite.judge import judge_outside, require
from suite.properties import conformance
from suite.run import run


@conformance("domain.outside_raises")
@given(case=conv2d_cases(claimed=domain.ALL, shaped=False))
def test_a_call_outside_the_declared_domain_raises_when_the_domain_says_so(conv2d, device,
                                                                          case):
    claimed = domain.active()
    if claimed.outside != "raise":
        pytest.skip("the declared domain does not say outside = 'raise' (or none is declared)")
    if claimed.admits(case):
        return  # inside: what the other properties judge
    outcome = run(conv2d, case, case.tensors(device=device), claimed=False)
    require(judge_outside(case, outcome))
