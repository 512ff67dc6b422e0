"""The registry's rechecks run in forks of the process, and each fork's end is read right.

A crash is present when its recheck call kills the fork and fixed when the call
returns; a group of deviations whose fork dies is rechecked one deviation per
fork, so one killing recheck cannot hide what the others show.  The
implementation here segfaults for kernels three or more columns wide
(implementations/broken/crashes.py).
"""

import dataclasses
import time

import pytest

from suite import recheck, registry

SEGFAULTS_WHEN_WIDE = "implementations.broken.crashes:dereferences_null_when_the_weight_is_wide"
OPTIONS = (f"--conv2d-impl={SEGFAULTS_WHEN_WIDE}", "--device=cpu", "--torch-threads=1",
           "--onednn=on")
WIDE, NARROW = "in1x1x3x3:w1x1x1x3", "in1x1x3x3:w1x1x1x1"


def _entry(entry_id, kind, call):
    """An entry of a kernel's own registry: rechecked on the implementation under test."""
    behaviour = "" if kind == "crash" else "raised is None"
    return registry.Entry(id=entry_id, kind=kind, framework="torch>=2.0", source="kernel",
                          measured="m", condition="True", behaviour=behaviour, observed="o",
                          reason="r", recheck=call)


@pytest.mark.parametrize("call, status", [(WIDE, registry.PRESENT), (NARROW, registry.FIXED)],
                         ids=["killing call", "returning call"])
def test_a_crash_is_present_exactly_when_its_recheck_call_kills_the_fork(call, status):
    found = recheck.recheck_forked([_entry("c", "crash", call)], OPTIONS)
    assert found["c"][0] == status, (
        f"crash rechecked with {call} as {found['c']}, but should be {status} "
        f"[--conv2d-impl={SEGFAULTS_WHEN_WIDE}]")


def test_a_deviation_whose_recheck_kills_the_fork_does_not_hide_the_others():
    entries = [_entry("killing", "deviation", WIDE), _entry("conforming", "deviation", NARROW)]
    found = recheck.recheck_forked(entries, OPTIONS)
    assert found["killing"][0] == registry.FIXED and "killed" in found["killing"][1], (
        f"the killing deviation rechecked as {found['killing']}, but should be fixed "
        f"(its recheck killed the process)")
    assert tuple(found["conforming"]) == (registry.FIXED, "conforms"), (
        f"the other deviation rechecked as {found['conforming']}, but should conform "
        f"in a fork of its own")


HANGS_WHEN_TALL = "implementations.broken.crashes:never_returns_when_the_kernel_is_tall"
TALL = "in1x1x3x3:w1x1x3x1"


def test_a_recheck_that_hangs_is_bounded_by_one_short_limit_per_round(monkeypatch):
    monkeypatch.setattr(recheck, "HANG_BASE_S", 1.0)  # limits of 2 s to 4 s here
    entries = ([_entry(f"crash{n}", "crash", TALL) for n in range(3)]
               + [_entry("hanging", "deviation", TALL), _entry("conforming", "deviation", NARROW)])
    options = (f"--conv2d-impl={HANGS_WHEN_TALL}", *OPTIONS[1:])
    start = time.monotonic()
    found = recheck.recheck_forked(entries, options)
    took = time.monotonic() - start
    crashes = {found[f"crash{n}"][0] for n in range(3)}
    assert crashes == {registry.PRESENT} and "hang" in found["crash0"][1], (
        f"crashes whose recheck hangs rechecked as {found}, but should be present (a hang)")
    assert found["hanging"][0] == registry.FIXED and "did not return" in found["hanging"][1], (
        f"the hanging deviation rechecked as {found['hanging']}, but should be fixed "
        f"(its recheck did not return)")
    assert tuple(found["conforming"]) == (registry.FIXED, "conforms")
    # Two rounds of limits are 6 s; measured 5.1 s (EPYC-2, idle, 2026-12-08).  One limit
    # per entry would be at least 10 s of limits alone, plus five forks' start-up.
    assert took < 12, (f"rechecking took {took:.1f} s, but should take about two rounds of "
                       f"limits (the group's 4 s, then 2 s), not one limit per entry")


def test_a_recheck_that_cannot_run_is_an_error_not_a_fix():
    options = ("--conv2d-impl=no_such_module:conv2d", *OPTIONS[1:])
    with pytest.raises(recheck.CannotRecheck, match="no_such_module"):
        recheck.recheck_forked([_entry("d", "deviation", NARROW)], options)


# A conv2d without a double backward (as torch.compile's aot_autograd has none): its
# backward raises where autograd asks for a graph of the gradients.
SINGLE_BACKWARD = '''
import torch
import torch.nn.functional as F


class _Conv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, weight):
        ctx.save_for_backward(input, weight)
        return F.conv2d(input, weight)

    @staticmethod
    def backward(ctx, grad):
        if torch.is_grad_enabled():
            raise RuntimeError("this conv2d does not support double backward")
        input, weight = ctx.saved_tensors
        return (torch.nn.grad.conv2d_input(input.shape, weight, grad),
                torch.nn.grad.conv2d_weight(input, weight.shape, grad))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _Conv.apply(input, weight)
'''


def test_a_pass_the_implementation_does_not_support_is_an_answer_not_a_failed_recheck(
        tmp_path, monkeypatch):
    (tmp_path / "single_backward.py").write_text(SINGLE_BACKWARD)
    monkeypatch.syspath_prepend(str(tmp_path))
    crash = dataclasses.replace(_entry("c", "crash", NARROW), recheck_pass="double_backward")
    found = recheck.recheck_forked([crash], ("--conv2d-impl=single_backward:conv2d",
                                             *OPTIONS[1:]))
    assert found["c"][0] == registry.FIXED, (
        f"a double backward that raises rechecked as {found['c']}, but should be fixed: the "
        f"process lived")
