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
``recheck`` call (a case descriptor).  Every run rechecks every entry
(crashes in a child process) before any property runs: torch's on torch's own
conv2d, since a bug of torch is torch's whatever is under test (an entry that
records particular implementations' behaviour, torch.compile's, on the
implementation under test), a kernel's own registry (``--conv2d-deviations``)
on that kernel.  An entry *applies* wherever its recheck shows the behaviour,
on any release.  Where it does not, an entry recorded for this release (its
``torch`` or ``framework`` specifier holds the installed version) is reported
stale; one recorded for other releases only is simply not this release's.
An implementation inherits torch's entries only on the calls it hands to
torch's kernels (suite/torch_calls.py): a wrapper or a fallback does, another
framework's kernel never does.
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
import importlib.metadata
import re
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
REQUIRED = ("id", "kind", "measured", "condition", "observed", "reason", "recheck")
# The releases an entry was recorded for: torch's registry names torch versions
# ("torch"), a kernel's own registry (--conv2d-deviations) its distribution and versions
# ("framework" = "onnxruntime>=1.20").
RELEASES = {"torch": "torch", "kernel": "framework"}
OPTIONAL = ("behaviour", "upstream", "recheck_onednn", "recheck_pass", "recheck_times", "cpu",
            "implementation", "around_the_kernel")
# recheck_times: how many times a deviation's recheck call is made, for a behaviour that
# varies from call to call (uninitialised memory): present if any call shows it.
# around_the_kernel: true for a bug of torch code that runs around whatever conv2d is
# under test (nn.Conv2d's padding modes pad before they call it): every implementation
# inherits it on the calls its condition names, not only those reaching torch's kernels.
# implementation: the --conv2d-impl presets or specs (space-separated) whose behaviour
# the entry records, for a bug of torch that only they meet (torch.compile's); under
# any other implementation it is reported as not this implementation's.
# cpu: the CPU features (as /proc/cpuinfo's flags name them, space-separated) the
# entry's kernels exist for, such as "amx_bf16": on a CPU without them oneDNN runs
# other kernels, so a recheck that does not show the entry there proves no fix.
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


def _expression(where, field, text, names):
    try:
        return compile_condition(text, names, f"{where}.{field}")
    except ConditionError as error:
        raise RegistryError(f"{where}, field {field!r}: {error}") from None


@dataclasses.dataclass(frozen=True)
class Entry:
    """One thing torch (or, in a kernel's own registry, that kernel) does that the
    specification does not say."""

    id: str
    kind: str
    measured: str
    condition: str
    observed: str
    reason: str
    recheck: str
    torch: str = ""
    framework: str = ""
    behaviour: str = ""
    upstream: str = ""
    recheck_onednn: str = ""  # "on"/"off": recheck in that oneDNN state; "": the run's
    recheck_pass: str = "forward"
    recheck_times: int = 1
    cpu: str = ""
    implementation: str = ""
    around_the_kernel: bool = False
    source: str = "torch"  # whose registry: "torch", or "kernel" (--conv2d-deviations)
    file: str = dataclasses.field(default=KNOWN_DEVIATIONS.name, compare=False)

    def __post_init__(self):
        where = f"{self.file}: entry {self.id!r}"

        def check(holds, message):
            if not holds:
                raise RegistryError(f"{where}: {message}")
        distribution, releases = self.releases_field()
        try:
            name, specifier = _distribution_and_specifier(distribution, releases)
            object.__setattr__(self, "_releases", (name, SpecifierSet(specifier)))
        except InvalidSpecifier:
            check(False, f"{RELEASES[self.source]} {releases!r} is not a version specifier "
                         f"such as '>=2.2, <2.15'")
        check(self.recheck_onednn in ("", *ONEDNN_STATES),
              f"recheck_onednn {self.recheck_onednn!r} is not one of {', '.join(ONEDNN_STATES)}")
        check(self.kind in KINDS, f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        check(self.recheck_pass in RECHECK_PASSES,
              f"recheck_pass {self.recheck_pass!r} is not one of {', '.join(RECHECK_PASSES)}")
        check(isinstance(self.recheck_times, int) and 1 <= self.recheck_times <= 10,
              f"recheck_times {self.recheck_times!r}: a whole number from 1 to 10")
        check((self.kind in EXPLAINING) == bool(self.behaviour),
              f"a {self.kind} needs a behaviour, a crash has none")
        object.__setattr__(self, "_condition", _expression(
            where, "condition", self.condition, CASE_NAMES + ENVIRONMENT_NAMES))
        if self.behaviour:
            object.__setattr__(self, "_behaviour", _expression(
                where, "behaviour", self.behaviour,
                CASE_NAMES + ENVIRONMENT_NAMES + OUTCOME_NAMES))

    def releases_field(self):
        """(the field naming the releases it was recorded for, its text)."""
        field = RELEASES[self.source]
        return field, getattr(self, field)

    @property
    def releases(self):
        """The releases it was recorded for, as the entry says them: 'torch >=2.2'."""
        field, text = self.releases_field()
        return f"torch {text}" if field == "torch" else text

    def recorded_here(self):
        """Whether the entry was recorded for the release installed here."""
        name, specifier = self._releases
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return False
        return Version(installed).public in specifier

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


def _distribution_and_specifier(field, text):
    """("torch", ">=2.2") for a torch entry's text, ("jax", ">=0.10") for "jax>=0.10"."""
    if field == "torch":
        return "torch", text
    name = re.match(r"\s*([A-Za-z0-9_.-]*)", text).group(1)
    if not name:
        raise InvalidSpecifier(text)
    return name, text[len(name):].strip() or ">=0"


@functools.lru_cache(maxsize=None)
def load(path=KNOWN_DEVIATIONS, source="torch"):
    """Every entry of the registry file at ``path``, checked; ``source`` "torch" for
    torch's registry, "kernel" for a kernel's own (its entries name a ``framework``)."""
    name = Path(path).name
    try:
        entries = tomllib.loads(Path(path).read_text()).get("entry", [])
    except OSError as error:
        raise RegistryError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{name}: {error}") from None
    required = (*REQUIRED, RELEASES[source])
    allowed = set(required) | set(OPTIONAL)
    loaded, seen = [], set()
    for number, entry in enumerate(entries, 1):
        missing = [field for field in required if not isinstance(entry.get(field), str)]
        extra = sorted(set(entry) - allowed)
        if missing or extra:
            raise RegistryError(f"{name}: entry {number} ({entry.get('id')!r}): missing "
                                f"{missing}, unknown {extra}")
        if entry["id"] in seen:
            raise RegistryError(f"{name}: entry id {entry['id']!r} is repeated")
        seen.add(entry["id"])
        loaded.append(Entry(**entry, source=source, file=name))
    return tuple(loaded)


def load_all(deviations=None):
    """torch's entries, and those of the kernel's own registry at ``deviations``."""
    entries = load()
    if deviations is None:
        return entries
    own = load(str(deviations), source="kernel")
    clash = sorted({entry.id for entry in own} & {entry.id for entry in entries})
    if clash:
        raise RegistryError(f"{Path(deviations).name}: entry ids {clash} are torch's "
                            f"({KNOWN_DEVIATIONS.name}); choose others")
    return entries + own


class Registry:
    """The entries and what this run's rechecks found for each: ``present`` (it
    applies), ``fixed`` (its recheck no longer shows it: reported stale) or
    ``unchecked`` (not rechecked yet; a recheck happens on first use)."""

    def __init__(self, entries, recheck=None):
        self.entries = {entry.id: entry for entry in entries}
        self.status = {entry_id: UNCHECKED for entry_id in self.entries}
        self.details = {}
        self._recheck = recheck  # entry -> (status, detail), for lazy rechecks
        # The answer for a finding whose outcome cannot tell whether its call reached
        # torch's kernels (a comparison of tensors several calls made): yes, unless the
        # implementation declares it never hands a call to torch (``uses_torch = False``,
        # as the framework adapters do); a probe of the forward call cannot see a
        # fallback in a backward or under vmap, and a wrong no would fail a kernel for
        # torch's bug.
        self.uses_torch = True

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

    def crash_for(self, facts, reaches=None):
        """The applying crash entry whose region holds this call, if any (``reaches``:
        see ``explain``)."""
        return next((entry for entry in self.held(facts, ("crash",)) if self.applies(entry)
                     and _inherited(entry, reaches)), None)

    def explain(self, facts, reaches=None):
        """The applying deviation whose condition and behaviour describe ``facts``
        (a call and what it did), if any.  ``reaches``: whether the implementation
        handed this call to torch's kernels (a callable, suite/torch_calls.py; None:
        unknown, taken as ``uses_torch``): torch's entries explain only calls that reach
        torch."""
        if reaches is None:
            reaches = lambda: self.uses_torch  # noqa: E731 - the declared answer
        return next((entry for entry in self.held(facts) if self.applies(entry)
                     and entry.shows_behaviour(facts) and _inherited(entry, reaches)), None)


def _inherited(entry, reaches):
    """Whether ``entry`` can be about this call: a kernel's own entries always are;
    torch's where the call reaches torch's kernels, or its code around any kernel."""
    return (entry.source != "torch" or entry.around_the_kernel or reaches is None
            or reaches())


_active = Registry(())


def active():
    """The registry in force in this process (empty until a run or a tool sets one)."""
    return _active


def activate(registry):
    global _active
    _active = registry
    return registry
