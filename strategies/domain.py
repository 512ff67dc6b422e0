"""The part of conv2d a kernel claims: what the strategies may draw for it.

A kernel that supports only some of conv2d (say float16 and float32, groups 1,
NCHW, stride 1) declares it in a TOML file (``--conv2d-domain=FILE``, read by
suite/domain.py); the strategies then draw only calls inside it, and a call a
property derives that falls outside it is not made (counted, not failed).
Every field is optional; an absent field claims all of conv2d's choices:

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
    outside = "raise"                        # optional: outside the domain it must raise

The domain is checked when it is read: an unknown key, an impossible value or
an empty domain is an error naming the key.
"""

import dataclasses

from case import DTYPES, LAYOUTS

PADDING_KINDS = ("numbers", "same", "valid")
CHOICES = {"bias": ("with", "without", "either"), "batched": ("batched", "unbatched", "either"),
           "outside": ("raise", "anything")}


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


@dataclasses.dataclass(frozen=True)
class Domain:
    """The calls a kernel claims (None: every choice conv2d has)."""

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
    outside: str = "anything"

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
            elif name in CHOICES:
                if value not in CHOICES[name]:
                    raise DomainError(f"{name} = {value!r}: one of {list(CHOICES[name])}")
                values[name] = value
            else:
                values[name] = _positive_int(name, value)
        domain = cls(**values)
        if domain.paddings == ("same",) and domain.strides is not None and 1 not in domain.strides:
            raise DomainError("paddings = ['same'] needs stride 1, which strides leaves out: "
                              "the domain holds no call")
        return domain

    def admits(self, case):
        """Whether the calls ``case`` makes lie inside the domain (any case kind)."""
        from reference.arguments import PADDING_STRINGS
        if self == ALL:
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
        return all(checks)

    def excluded(self):
        """What the domain leaves out, one phrase per restricted key (for reports)."""
        return [f"{field.name}={getattr(self, field.name)!r}" for field in dataclasses.fields(self)
                if getattr(self, field.name) != field.default]


ALL = Domain()


_active = ALL


def active():
    """The domain in force in this process (all of conv2d unless a run declared one)."""
    return _active


def activate(domain):
    global _active
    _active = domain
    return domain
