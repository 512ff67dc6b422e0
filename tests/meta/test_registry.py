"""The registry of torch's known behaviour is well formed and says what it means.

Every entry's recheck call lies in the entry's own region (or a recheck could
never show it), the file's mistakes are one-line errors naming the entry and
the field, and an entry explains a finding only where both its condition and
its behaviour hold.  What each entry does on the torch at hand (present, or
fixed: stale) is rechecked by every run and reported in its summary.
"""

import pytest

from case import parse
from suite import recheck, registry
from suite.run import environment

ENTRIES = registry.load()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.id)
def test_each_entrys_recheck_call_lies_in_its_own_region(entry):
    case = parse(entry.recheck)
    facts = {**case.facts(), **environment("cpu"), "threads": 1,
             "onednn": entry.recheck_onednn != "off"}
    assert entry.condition_holds(facts), (
        f"the recheck call {entry.recheck} is outside the entry's condition {entry.condition!r}, "
        f"but should be inside it [{registry.KNOWN_DEVIATIONS.name}: {entry.id}]")


def test_every_run_rechecks_every_entry_its_kernel_claims(pytestconfig):
    statuses = registry.active().status
    claimed = pytestconfig.conv2d_domain  # this fixture module's ALL is for the tools, not this
    unchecked = [entry.id for entry in ENTRIES if statuses.get(entry.id) not in
                 (registry.PRESENT, registry.FIXED)
                 and not recheck.outside_the_domain(entry, claimed)]
    assert not unchecked, f"entries {unchecked} were not rechecked by this run, but should be"


ENTRY = dict(id="x", kind="deviation", torch=">=2.0", measured="m", condition="dtype == 'float32'",
             behaviour="raised is None", observed="o", reason="r", recheck="in1x1x1x1:w1x1x1x1")


@pytest.mark.parametrize("changes, named", [
    ({"condition": "dtyp == 'float32'"}, "unknown names ['dtyp']"),
    ({"behaviour": "raised is"}, "field 'behaviour'"),
    ({"kind": "bug"}, "kind 'bug'"),
    ({"behaviour": ""}, "needs a behaviour"),
    ({"recheck_onednn": "maybe"}, "recheck_onednn 'maybe'"),
    ({"torch": "2.13 or later"}, "torch '2.13 or later'"),
    ({"kind": "crash", "behaviour": "", "recheck_pass": "sideways"}, "recheck_pass 'sideways'"),
], ids=["unknown name", "syntax", "unknown kind", "deviation without behaviour",
        "unknown oneDNN state", "torch not a specifier", "unknown recheck pass"])
def test_a_malformed_entry_is_one_error_naming_the_entry_and_the_field(changes, named):
    with pytest.raises(registry.RegistryError) as raised:
        registry.Entry(**{**ENTRY, **changes})
    message = str(raised.value)
    assert "'x'" in message and named in message and "\n" not in message, (
        f"RegistryError({message!r}), but should be one line naming entry 'x' and {named!r}")


def test_an_entry_explains_only_what_its_condition_and_behaviour_both_describe():
    entry = registry.Entry(**ENTRY)
    known = registry.Registry([entry])
    known.set_status({"x": registry.PRESENT})
    facts = dict(dtype="float32", raised=None)
    assert known.explain(facts) is entry
    assert known.explain({**facts, "dtype": "float64"}) is None, "outside the condition"
    assert known.explain({**facts, "raised": "RuntimeError"}) is None, "another behaviour"
    known.set_status({"x": registry.FIXED})
    assert known.explain(facts) is None, "a fixed entry explains nothing"


def test_an_entry_for_kernels_this_cpu_lacks_is_not_called_stale(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n")
    flags = registry.cpu_flags.__wrapped__(cpuinfo)
    assert flags == {"fpu", "avx512f", "avx512_bf16"}
    entry = registry.Entry(**{**ENTRY, "cpu": "amx_bf16 avx512_bf16"})
    assert entry.missing_cpu_features(flags) == ["amx_bf16"]
    assert entry.missing_cpu_features(flags | {"amx_bf16"}) == []
    assert entry.missing_cpu_features(None) == [], "unknown flags: taken to be this CPU"
    assert registry.cpu_flags.__wrapped__(tmp_path / "absent") is None


def test_an_entry_for_one_implementation_is_about_no_other():
    entry = registry.Entry(**{**ENTRY, "implementation": "compile compile-static"})
    assert not entry.about_another_implementation("compile")
    assert entry.about_another_implementation(registry.TORCH_CONV2D)
    assert not registry.Entry(**ENTRY).about_another_implementation("compile"), (
        "an entry naming no implementation is about every one")
