"""A kernel is held to what its domain claims, and to nothing else.

The declared domain's ``[claims]`` (case/domain.py) say what a kernel promises
beyond values; a property about an unclaimed aspect is skipped with that reason,
the judge accepts what a claim allows (any exception, a flushed subnormal) and
nothing more, and a kernel's own registry (--conv2d-deviations) explains its
own deviations while torch's explain only calls that reach torch.
"""

import dataclasses
import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from case import domain, parse
from implementations.broken.data import flushes_subnormal_inputs
from reference import ErrorModel
from suite import registry
from suite.judge import judge
from suite.run import run

# One input element 2^-127 (a float32 subnormal) times a weight of 1.
SUBNORMAL = "in1x1x1x1:w1x1x1x1:s1:p0:d1:g1:float32:contiguous:exact:seed0:input(e-127,none,0=1)"
SUBNORMAL_FLOAT = ("in1x2x3x3:w2x2x2x2:b2:s1:p0:d1:g1:float32:contiguous:float:seed3"
                   ":input(e-130,none,0=1):weight(none,0=1)")
INVALID = "in1x3x5x5:w4x2x3x3:s1:p0:d1:g1:float32:contiguous:float:seed0"  # channel mismatch


@pytest.mark.parametrize("table, named", [
    ({"claims": {"errors": "some"}}, "claims.errors"),
    ({"claims": {"autograd": ["backwards"]}}, "claims.autograd"),
    ({"claims": {"vmap": "no"}}, "claims.vmap"),
    ({"claims": {"subnormals": "ftz"}}, "claims.subnormals"),
    ({"claims": {"subnormals": "flush"}}, "claims.subnormals"),
    ({"claims": {"gradients": []}}, "gradients"),
    ({"refuses": ["dilaton > 1"]}, "dilaton"),
    ({"refuses": "padding == 'same'"}, "refuses"),
], ids=["errors", "autograd", "vmap", "subnormals", "flushing with gradients", "unknown claim",
        "misspelt refusal", "refusal not a list"])
def test_a_domain_that_cannot_be_used_names_the_key(table, named):
    with pytest.raises(domain.DomainError, match=named):
        domain.Domain.from_table(table)


@pytest.mark.parametrize("descriptor", [SUBNORMAL, SUBNORMAL_FLOAT], ids=["exact", "float"])
def test_a_kernel_that_flushes_subnormals_conforms_only_where_it_declares_so(descriptor):
    case = parse(descriptor)
    outcome = run(flushes_subnormal_inputs, case, case.tensors(), guard=False)
    kept = judge(case, outcome, model=ErrorModel(), explain=False)
    flushed = judge(case, outcome, model=ErrorModel(flushes_subnormals=True), explain=False)
    assert kept.status == "fails" and flushed.status == "conforms", (
        f"a kernel that reads subnormals as zero: {kept.status} under subnormals = 'keep', "
        f"{flushed.status} under 'flush', but should fail and conform [{descriptor}]\n"
        f"{flushed.report()}")


def _flushes_and_adds_one(input, weight, bias=None, **arguments):
    return flushes_subnormal_inputs(input, weight, bias, **arguments) + 1


@pytest.mark.parametrize("descriptor", [SUBNORMAL, SUBNORMAL_FLOAT], ids=["exact", "float"])
def test_flushing_subnormals_excuses_nothing_else(descriptor):
    case = parse(descriptor)
    outcome = run(_flushes_and_adds_one, case, case.tensors(), guard=False)
    finding = judge(case, outcome, model=ErrorModel(flushes_subnormals=True), explain=False)
    assert finding.status == "fails", (
        f"a kernel that flushes subnormals and adds 1 {finding.status}, but should fail under "
        f"subnormals = 'flush' [{descriptor}]")


def _raises_value_error(input, weight, bias=None, **arguments):
    raise ValueError("shapes do not match")


@pytest.mark.parametrize("errors, status", [("torch", "fails"), ("any", "conforms"),
                                            ("none", "not run")])
def test_an_invalid_call_is_held_to_the_error_claim(errors, status):
    case = parse(INVALID)
    claimed = domain.active()
    domain.activate(domain.Domain(claims=domain.Claims(errors=errors)))
    try:
        finding = judge(case, run(_raises_value_error, case, case.tensors()), explain=False)
    finally:
        domain.activate(claimed)
    assert finding.status == status, (
        f"a ValueError for a call that breaks a rule {finding.status} under errors = {errors!r}, "
        f"but should be {status} [{INVALID}]")


def test_a_refused_call_lies_outside_the_domain():
    refusing = domain.Domain.from_table(
        {"refuses": ["padding == 'same' and max(per_axis(dilation)) > 1"]})
    same = parse("in1x1x6x6:w1x1x3x3:s1:psame:d2:g1:float32:contiguous:float:seed0")
    assert not refusing.admits(same) and refusing.admits(same.replace(dilation=1))


def test_torchs_entries_explain_only_calls_that_reach_torch_and_a_kernels_own_always():
    mine = registry.Entry(id="mine", kind="deviation", framework="torch>=2.0", source="kernel",
                          measured="m", condition="True", behaviour="True", observed="o",
                          reason="r", recheck="in1x1x1x1:w1x1x1x1")
    torchs = registry.Entry(id="torchs", kind="deviation", torch=">=2.0", measured="m",
                            condition="True", behaviour="True", observed="o", reason="r",
                            recheck="in1x1x1x1:w1x1x1x1")
    around = dataclasses.replace(torchs, id="around", around_the_kernel=True)
    for entry, reaches, expected in [(torchs, True, "torchs"), (torchs, False, None),
                                     (mine, False, "mine"), (around, False, "around")]:
        known = registry.Registry([entry])
        known.set_status({entry.id: registry.PRESENT})
        explained = known.explain({}, reaches=lambda: reaches)
        assert (explained and explained.id) == expected, (
            f"{entry.id} explained {explained} for a call that reaches torch: {reaches}, "
            f"but should explain {expected}")
        known.uses_torch = reaches  # a finding that cannot tell: as the kernel declares
        explained = known.explain({})
        assert (explained and explained.id) == expected, (
            f"{entry.id} explained {explained} for a kernel declaring uses_torch = "
            f"{reaches}, but should explain {expected}")



def test_a_kernels_own_registry_names_its_mistakes_in_one_line(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[[entry]]\nid = "zero-input-channels"\nkind = "deviation"\n'
                    'framework = "mykernel>=1"\nmeasured = "m"\ncondition = "True"\n'
                    'behaviour = "True"\nobserved = "o"\nreason = "r"\nrecheck = "in1x1x1x1:w1x1x1x1"\n')
    with pytest.raises(registry.RegistryError, match="are torch's"):
        registry.load_all(path)
    unversioned = tmp_path / "unversioned.toml"
    unversioned.write_text(path.read_text().replace('framework = "mykernel>=1"\n', ""))
    with pytest.raises(registry.RegistryError, match="missing .'framework'."):
        registry.load_all(unversioned)


DOMAIN = """
[claims]
errors = "none"
autograd = []
vmap = false
memory_format = "any"
"""


def test_properties_about_unclaimed_aspects_are_skipped_and_the_rest_run(tmp_path):
    (tmp_path / "domain.toml").write_text(DOMAIN)
    outcomes = tmp_path / "outcomes.json"
    chosen = ["gradients.exact", "errors[channel_mismatch]", "shape.memory_format",
              "per_sample.formulations", "shape.formula"]
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
               f"--conv2d-domain={tmp_path / 'domain.toml'}", f"--conv2d-outcomes={outcomes}",
               f"--conv2d-properties={','.join(chosen)}", "tests"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    found = json.loads(outcomes.read_text())
    expected = {"gradients.exact": "skipped", "errors[channel_mismatch]": "skipped",
                "shape.memory_format": "skipped", "per_sample.formulations[vmap]": "skipped",
                "per_sample.formulations[loop]": "passed", "shape.formula": "passed"}
    wrong = {name: found.get(name) for name, outcome in expected.items()
             if found.get(name) != outcome}
    assert not wrong, (
        f"outcomes {wrong}, but should be {expected}\n{result.stdout[-2000:]}")


def test_torch_conv2d_reaches_torch_and_a_kernel_without_torch_does_not():
    from suite.torch_calls import reaches_torch
    case = parse("in1x2x5x5:w3x2x3x3:s1:p0:d1:g1:float32:contiguous:float:seed0")
    tensors = case.tensors()

    def elementwise(input, weight, bias=None, **arguments):  # no convolution, no matmul
        return torch.zeros(1, 3, 3, 3) + input.sum() * 0

    assert reaches_torch(lambda *a, **k: F.conv2d(*a, **k), case, tensors)
    assert not reaches_torch(elementwise, case, tensors)
    padded = case.replace(padding_mode="reflect", padding=1)  # nn.Conv2d pads, then calls it
    assert reaches_torch(lambda *a, **k: F.conv2d(*a, **k), padded, tensors)
    assert not reaches_torch(elementwise, padded, tensors), (
        "a padding-mode call reaches torch's kernels only if the kernel it wraps does")
