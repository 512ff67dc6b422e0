"""The one registry of what torch does that the specification does not say.

Every entry of ``tests/known_deviations.toml`` is one of:
- ``deviation``: torch returns or raises something the specification does not
  allow, under a narrow condition (a bug, or behaviour torch intends);
- ``difference``: the same, for behaviour that differs between torch releases
  (another exception type or message, a dtype kernel a release lacks): where
  its recheck does not show it, it is simply not this release's behaviour;
- ``crash``: torch kills the process (a segfault, an abort), so the call must
  not be made inside a test process at all.

Each names a condition on the call, the behaviour torch shows (deviations),
where it was measured, why it is accepted, an upstream link, and a minimal
``recheck`` call (a case descriptor).  Every run rechecks every entry against
the implementation under test (crashes in a child process) before any
property runs: an entry *applies* wherever its recheck shows the behaviour,
on any torch version.  Where it does not, an entry recorded for this torch
(its ``torch`` specifier holds this version) is reported stale; one recorded
for other releases only is simply not this torch's.
So nothing is skipped by version, and an entry never hides a behaviour that
is no longer there.  A recheck call is made in the run's oneDNN state, unless
the entry is about one path and says which (``recheck_onednn = "off"``: torch's
own slow path, which the backend-equivalence property calls with oneDNN off).

Conditions and behaviours are Python expressions over the names in
case/conditions.py (``CASE_NAMES``, ``ENVIRONMENT_NAMES`` and, for
behaviours, ``OUTCOME_NAMES``), compiled when the file is read: a typo fails
at once, naming the entry.
"""

import dataclasses
import functools
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from case.conditions import (CASE_NAMES, ENVIRONMENT_NAMES, OUTCOME_NAMES, ConditionError,
                             compile_condition, holds)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

KNOWN_DEVIATIONS = Path(__file__).resolve().parent.parent / "tests" / "known_deviations.toml"

KINDS = ("deviation", "difference", "crash")
EXPLAINING = ("deviation", "difference")  # kinds that explain a finding
REQUIRED = ("id", "kind", "torch", "measured", "condition", "observed", "reason", "recheck")
OPTIONAL = ("behaviour", "upstream", "recheck_onednn", "recheck_pass", "recheck_with", "cpu",
            "implementation")
# implementation: the --conv2d-impl presets or specs (space-separated) whose behaviour
# the entry records, for a bug of torch that only they meet (torch.compile's); under
# any other implementation it is reported as not this implementation's.
# cpu: the CPU features (as /proc/cpuinfo's flags name them, space-separated) the
# entry's kernels exist for, such as "amx_bf16": on a CPU without them oneDNN runs
# other kernels, so a recheck that does not show the entry there proves no fix.
# recheck_with = "torch": the recheck calls torch's own F.conv2d, for a bug of torch
# that an implementation inherits wherever it hands calls to torch (its training
# calls, say), even though its own forward does not show it.
TORCH_CONV2D = "torch.nn.functional:conv2d"
ONEDNN_STATES = ("on", "off")  # recheck_onednn: the state an entry's recheck call is made in
# How far a recheck call goes (python -m suite.run --through=PASS for a crash): the
# call itself, then backpropagating ones through it, then through those gradients
# again; a crash of a backward or double-backward kernel needs the longer passes, and
# so does a deviation whose behaviour is a pass that raises (problem "autograd").
RECHECK_PASSES = ("forward", "backward", "double_backward")
PRESENT, FIXED, UNCHECKED = "present", "fixed", "unchecked"
# Not rechecked: the recheck call lies outside the kernel's declared domain, so
# the kernel does not claim it (and no call in a region outside it is made).
OUTSIDE = "outside the declared domain"


class RegistryError(ValueError):
    """The registry file cannot be used; the message names the entry and the field."""


def _expression(entry_id, field, text, names):
    try:
        return compile_condition(text, names, f"{entry_id}.{field}")
    except ConditionError as error:
        raise RegistryError(f"{KNOWN_DEVIATIONS.name}: entry {entry_id!r}, field {field!r}: "
                            f"{error}") from None


@dataclasses.dataclass(frozen=True)
class Entry:
    """One thing torch does that the specification does not say."""

    id: str
    kind: str
    torch: str
    measured: str
    condition: str
    observed: str
    reason: str
    recheck: str
    behaviour: str = ""
    upstream: str = ""
    recheck_onednn: str = ""  # "on"/"off": recheck in that oneDNN state; "": the run's
    recheck_with: str = ""  # "torch": recheck torch's F.conv2d; "": the run's implementation
    recheck_pass: str = "forward"
    cpu: str = ""
    implementation: str = ""

    def __post_init__(self):
        try:
            object.__setattr__(self, "_releases", SpecifierSet(self.torch))
        except InvalidSpecifier:
            raise RegistryError(f"{KNOWN_DEVIATIONS.name}: entry {self.id!r}: torch "
                                f"{self.torch!r} is not a version specifier such as "
                                f"'>=2.2, <2.15'") from None
        if self.recheck_with not in ("", "torch"):
            raise RegistryError(f"{KNOWN_DEVIATIONS.name}: entry {self.id!r}: recheck_with "
                                f"{self.recheck_with!r}: 'torch' or nothing")
        if self.recheck_onednn not in ("", *ONEDNN_STATES):
            raise RegistryError(f"{KNOWN_DEVIATIONS.name}: entry {self.id!r}: recheck_onednn "
                                f"{self.recheck_onednn!r} is not one of {', '.join(ONEDNN_STATES)}")
        if self.kind not in KINDS:
            raise RegistryError(f"{KNOWN_DEVIATIONS.name}: entry {self.id!r}: kind "
                                f"{self.kind!r} is not one of {', '.join(KINDS)}")
        if self.recheck_pass not in RECHECK_PASSES:
            raise RegistryError(f"{KNOWN_DEVIATIONS.name}: entry {self.id!r}: recheck_pass "
                                f"{self.recheck_pass!r} is not one of {', '.join(RECHECK_PASSES)}")
        if (self.kind in EXPLAINING) != bool(self.behaviour):
            raise RegistryError(f"{KNOWN_DEVIATIONS.name}: entry {self.id!r}: a {self.kind} "
                                f"needs a behaviour, a crash has none")
        object.__setattr__(self, "_condition", _expression(
            self.id, "condition", self.condition, CASE_NAMES + ENVIRONMENT_NAMES))
        if self.behaviour:
            object.__setattr__(self, "_behaviour", _expression(
                self.id, "behaviour", self.behaviour,
                CASE_NAMES + ENVIRONMENT_NAMES + OUTCOME_NAMES))

    def recorded_for(self, version):
        """Whether the entry was recorded for torch ``version`` (local tags ignored)."""
        return Version(version).public in self._releases

    def missing_cpu_features(self, flags):
        """The features of ``cpu`` that the CPU with ``flags`` lacks (none where its
        flags are unknown: then the entry is taken to be about this CPU)."""
        if flags is None:
            return []
        return [feature for feature in self.cpu.split() if feature not in flags]

    def about_another_implementation(self, spec):
        """Whether the entry records other implementations' behaviour than ``spec``'s."""
        return bool(self.implementation) and spec not in self.implementation.split()

    def condition_holds(self, facts):
        """Whether the call described by ``facts`` (case and environment) is in its region."""
        return holds(self._condition, facts)

    def shows_behaviour(self, facts):
        """Whether what the call did (``facts`` with the outcome's) is the recorded behaviour."""
        return holds(self._behaviour, facts)


@functools.lru_cache(maxsize=None)
def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """This CPU's feature flags (Linux's /proc/cpuinfo), or None where it is not readable."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return None
    line = next((line for line in text.splitlines() if line.startswith("flags")), None)
    return None if line is None else frozenset(line.partition(":")[2].split())


@functools.lru_cache(maxsize=None)
def load(path=KNOWN_DEVIATIONS):
    """Every entry of the registry file, checked."""
    name = Path(path).name
    try:
        entries = tomllib.loads(Path(path).read_text()).get("entry", [])
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{name}: {error}") from None
    loaded, seen = [], set()
    for number, entry in enumerate(entries, 1):
        missing = [field for field in REQUIRED if not isinstance(entry.get(field), str)]
        extra = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
        if missing or extra:
            raise RegistryError(f"{name}: entry {number} ({entry.get('id')!r}): missing "
                                f"{missing}, unknown {extra}")
        if entry["id"] in seen:
            raise RegistryError(f"{name}: entry id {entry['id']!r} is repeated")
        seen.add(entry["id"])
        loaded.append(Entry(**entry))
    return tuple(loaded)


class Registry:
    """The entries and what this run's rechecks found for each: ``present`` (it
    applies), ``fixed`` (its recheck no longer shows it: reported stale) or
    ``unchecked`` (not rechecked yet; a recheck happens on first use)."""

    def __init__(self, entries, recheck=None):
        self.entries = {entry.id: entry for entry in entries}
        self.status = {entry_id: UNCHECKED for entry_id in self.entries}
        self.details = {}
        self._recheck = recheck  # entry -> (status, detail), for lazy rechecks

    def set_status(self, status, details=None):
        self.status.update(status)
        self.details.update(details or {})

    def applies(self, entry):
        if self.status[entry.id] == UNCHECKED and self._recheck is not None:
            status, detail = self._recheck(entry)
            self.set_status({entry.id: status}, {entry.id: detail})
        status = self.status[entry.id]
        # a crash not rechecked (outside the domain) keeps its guard: never risk the process
        return status == PRESENT or (status == OUTSIDE and entry.kind == "crash")

    def held(self, facts, kinds=EXPLAINING):
        """The entries of ``kinds`` whose condition holds for ``facts`` (applying or not)."""
        return [entry for entry in self.entries.values()
                if entry.kind in kinds and entry.condition_holds(facts)]

    def crash_for(self, facts):
        """The applying crash entry whose region holds this call, if any."""
        return next((entry for entry in self.held(facts, ("crash",)) if self.applies(entry)),
                    None)

    def explain(self, facts):
        """The applying deviation whose condition and behaviour describe ``facts``
        (a call and what it did), if any."""
        return next((entry for entry in self.held(facts) if self.applies(entry)
                     and entry.shows_behaviour(facts)), None)


_active = Registry(())


def active():
    """The registry in force in this process (empty until a run or a tool sets one)."""
    return _active


def activate(registry):
    global _active
    _active = registry
    return registry
