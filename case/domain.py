"""What a kernel claims: the calls it computes, and what it promises beyond values.

The default is all of conv2d under torch's whole contract.  A kernel that
covers part of conv2d, or that is not torch, declares less in a TOML file
(``--conv2d-domain=FILE``, or a ``domain`` attribute of its callable); every
field is optional, an absent one claiming what torch's conv2d does:

    dtypes = ["float32", "float16"]          # of case.DTYPES
    layouts = ["contiguous"]                 # of case.LAYOUTS
    groups = [1]                             # the groups the kernel takes
    strides = [1]                            # per-axis stride values
    dilations = [1]                          # per-axis dilation values
    paddings = ["numbers", "same", "valid"]  # numeric padding, 'same', 'valid'
    bias = "either"                          # "with", "without" or "either"
    batched = "either"                       # "batched" (4-D), "unbatched" (3-D) or "either"
    kernels = [[3, 3]]                       # (kh, kw) pairs
    max_batch = 8                            # and max_channels, max_size (spatial)
    refuses = ["padding == 'same' and max(per_axis(dilation)) > 1"]
                                             # valid calls it leaves out, as conditions
                                             # over case/conditions.py's names
    outside = "raise"                        # optional: outside the domain it must raise

    [claims]
    errors = "torch"          # for calls the rules reject: "torch" (its exception class
                              # and message), "any" (some exception) or "none" (nothing)
    autograd = ["backward", "double_backward", "forward_mode"]   # the modes it claims
    vmap = true               # it runs under torch.func.vmap
    autocast = true           # under torch.autocast it computes in the autocast dtype
    memory_format = "torch"   # torch's output memory-format rule, or "any"
    subnormals = "keep"       # or "flush": subnormal operands, products and results may
                              # be read or written as zero (judged by the bound)

The file is checked when it is read: an unknown key, an impossible value or
an empty domain is an error naming the key.  A property about something the
kernel does not claim is skipped, saying so (suite/properties.py); a call
outside the domain is never drawn (strategies/inside_domain.py) and never
made (suite/run.py); a kernel that says ``outside = "raise"`` must raise there.
"""

import collections
import dataclasses
from pathlib import Path

from case.conditions import CASE_NAMES, ConditionError, compile_condition, holds
from case.model import DTYPES, LAYOUTS
from reference.arguments import PADDING_STRINGS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PADDING_KINDS = ("numbers", "same", "valid")
CHOICES = {"bias": ("with", "without", "either"), "batched": ("batched", "unbatched", "either"),
           "outside": ("raise", "anything")}
AUTOGRAD_MODES = ("backward", "double_backward", "forward_mode")
CLAIM_CHOICES = {"errors": ("torch", "any", "none"), "memory_format": ("torch", "any"),
                 "subnormals": ("keep", "flush")}


class DomainError(ValueError):
    """A domain that cannot be used; the message names the key."""


def _subset(name, values, allowed):
    if not isinstance(values, list) or not values:
        raise DomainError(f"{name} = {values!r}: a non-empty list")
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise DomainError(f"{name}: {unknown} not among {list(allowed)}")
    return tuple(values)


def _positive_ints(name, values):
    if not isinstance(values, list) or not values or not all(
            isinstance(value, int) and not isinstance(value, bool) and value >= 1
            for value in values):
        raise DomainError(f"{name} = {values!r}: a non-empty list of whole numbers >= 1")
    return tuple(sorted(set(values)))


def _positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise DomainError(f"{name} = {value!r}: a whole number >= 1")
    return value


def _one_of(name, value, allowed):
    if value not in allowed:
        raise DomainError(f"{name} = {value!r}: one of {list(allowed)}")
    return value


@dataclasses.dataclass(frozen=True)
class Claims:
    """What a kernel promises beyond the values of the calls in its domain."""

    errors: str = "torch"
    autograd: tuple = AUTOGRAD_MODES
    vmap: bool = True
    autocast: bool = True
    memory_format: str = "torch"
    subnormals: str = "keep"

    @classmethod
    def from_table(cls, table):
        if not isinstance(table, dict):
            raise DomainError(f"claims = {table!r}: a table ([claims])")
        fields = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(table) - fields)
        if unknown:
            raise DomainError(f"claims: unknown keys {unknown}; the keys are "
                              f"{', '.join(sorted(fields))}")
        values = {}
        for name, value in table.items():
            if name == "autograd":
                if not isinstance(value, list) or any(mode not in AUTOGRAD_MODES
                                                      for mode in value):
                    raise DomainError(f"claims.autograd = {value!r}: a list of "
                                      f"{list(AUTOGRAD_MODES)} (empty: no gradients)")
                values[name] = tuple(value)
            elif name in ("vmap", "autocast"):
                if not isinstance(value, bool):
                    raise DomainError(f"claims.{name} = {value!r}: true or false")
                values[name] = value
            else:
                values[name] = _one_of(f"claims.{name}", value, CLAIM_CHOICES[name])
        claims = cls(**values)
        if claims.subnormals == "flush" and claims.autograd:
            # the flush term (reference/numerics.py flush_error) is derived for forward
            # results only; no kernel declared so far flushes and claims gradients
            raise DomainError("claims.subnormals = 'flush' with gradients claimed: the "
                              "suite bounds flushing for forward results only (autograd = [])")
        return claims

    def lacks(self, needed):
        """The claims among ``needed`` (e.g. "autograd.backward", "errors", "vmap",
        "errors.torch", "memory_format") this kernel does not make."""
        return [need for need in needed if not self._makes(need)]

    def _makes(self, need):
        kind, _, detail = need.partition(".")
        if kind == "autograd":
            return detail in self.autograd
        if kind == "errors":
            return self.errors == "torch" if detail == "torch" else self.errors != "none"
        if kind in ("vmap", "autocast"):
            return getattr(self, kind)
        if kind == "memory_format":
            return self.memory_format == "torch"
        raise ValueError(f"{need!r}: not a claim (autograd.MODE, errors, errors.torch, vmap, "
                         f"autocast, memory_format)")

    def excluded(self):
        return [f"{field.name}={getattr(self, field.name)!r}" for field in dataclasses.fields(self)
                if getattr(self, field.name) != field.default]


@dataclasses.dataclass(frozen=True)
class Domain:
    """The calls a kernel claims (None: every choice conv2d has) and its claims."""

    dtypes: tuple = None
    layouts: tuple = None
    groups: tuple = None
    strides: tuple = None
    dilations: tuple = None
    paddings: tuple = None
    bias: str = "either"
    batched: str = "either"
    kernels: tuple = None
    max_batch: int = None
    max_channels: int = None
    max_size: int = None
    refuses: tuple = ()
    outside: str = "anything"
    claims: Claims = Claims()

    @classmethod
    def from_table(cls, table):
        """The domain a TOML table declares, checked key by key."""
        fields = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(table) - fields)
        if unknown:
            raise DomainError(f"unknown keys {unknown}; the keys are {', '.join(sorted(fields))}")
        values = {}
        for name, value in table.items():
            if name == "dtypes":
                values[name] = _subset(name, value, [d for d in DTYPES if d != "bool"])
            elif name == "layouts":
                values[name] = _subset(name, value, LAYOUTS)
            elif name == "paddings":
                values[name] = _subset(name, value, PADDING_KINDS)
            elif name in ("groups", "strides", "dilations"):
                values[name] = _positive_ints(name, value)
            elif name == "kernels":
                if not isinstance(value, list) or not value or not all(
                        isinstance(pair, list) and len(pair) == 2 for pair in value):
                    raise DomainError(f"kernels = {value!r}: a non-empty list of [kh, kw] pairs")
                for pair in value:
                    _positive_ints("kernels", pair)
                values[name] = tuple((pair[0], pair[1]) for pair in value)
            elif name == "refuses":
                values[name] = _refusals(value)
            elif name == "claims":
                values[name] = Claims.from_table(value)
            elif name in CHOICES:
                values[name] = _one_of(name, value, CHOICES[name])
            else:
                values[name] = _positive_int(name, value)
        domain = cls(**values)
        if domain.paddings == ("same",) and domain.strides is not None and 1 not in domain.strides:
            raise DomainError("paddings = ['same'] needs stride 1, which strides leaves out: "
                              "the domain holds no call")
        return domain

    @property
    def calls(self):
        """This domain's calls alone, with torch's whole contract (for comparisons)."""
        return dataclasses.replace(self, claims=Claims())

    def admits(self, case):
        """Whether the calls ``case`` makes lie inside the domain (any case kind)."""
        if self.calls == ALL.calls:
            return True
        if case.kind == "per_sample":
            return all(self.admits(call) for call in case.inner_calls())
        geometry = case.geometry()
        input_shape = case.input_shape
        checks = [
            self.dtypes is None or case.dtype in self.dtypes,
            self.layouts is None or case.layout in self.layouts,
            self.groups is None or geometry.groups in self.groups,
            self.strides is None or set(geometry.stride) <= set(self.strides),
            self.dilations is None or set(geometry.dilation) <= set(self.dilations),
            self.paddings is None or (case.padding if case.padding in PADDING_STRINGS
                                      else "numbers") in self.paddings,
            self.bias == "either" or (self.bias == "with") == case.has_bias,
            self.batched == "either" or (self.batched == "batched") == geometry.batched,
            self.kernels is None or geometry.kernel in self.kernels,
            self.max_batch is None or geometry.batch <= self.max_batch,
            self.max_channels is None or max(geometry.in_channels,
                                             geometry.out_channels) <= self.max_channels,
            self.max_size is None or max(input_shape[-2:]) <= self.max_size,
        ]
        return all(checks) and not self.refused(case)

    def refused(self, case):
        """The refusal that holds for ``case``'s call, or None."""
        if not self.refuses:
            return None
        facts = case.facts()
        return next((text for text, code in self.refuses if holds(code, facts)), None)

    def excluded(self):
        """What the domain leaves out and does not claim, one phrase per key (for reports)."""
        phrases = [f"{field.name}={getattr(self, field.name)!r}" for field in dataclasses.fields(self)
                   if field.name not in ("claims", "refuses")
                   and getattr(self, field.name) != field.default]
        phrases += [f"refuses {text!r}" for text, _ in self.refuses]
        return phrases + self.claims.excluded()


def _refusals(texts):
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise DomainError(f"refuses = {texts!r}: a list of conditions (strings)")
    refusals = []
    for text in texts:
        try:
            refusals.append((text, compile_condition(text, CASE_NAMES, "refuses")))
        except ConditionError as error:
            raise DomainError(f"refuses: {text!r}: {error}") from None
    return tuple(refusals)


ALL = Domain()


def read(path):
    """The ``Domain`` a TOML file declares (``ALL`` for None); DomainError names the problem."""
    if path is None:
        return ALL
    try:
        table = tomllib.loads(Path(path).read_text())
    except OSError as error:
        raise DomainError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise DomainError(f"{path}: not TOML ({error})") from None
    try:
        return Domain.from_table(table)
    except DomainError as error:
        raise DomainError(f"{path}: {error}") from None


_active = ALL


def active():
    """The domain in force in this process: all of conv2d unless a run declared one.
    Process state, like the registry's: strategies are built when their module is
    imported and read it when they draw."""
    return _active


def activate(domain):
    global _active
    _active = domain
    return domain


# The current test's calls the active domain refused (a drawn call moved into it and
# still refused, a call declined at run time) and admitted (a call made inside it): a
# property every call of which is refused has nothing to check (suite/properties.py).
tally = collections.Counter()
