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

Drawing inside it is by construction, never by filtering (a narrow domain
would starve a filter): ``narrowed`` intersects a strategy's own choices
(dtypes, layouts, paddings, batch) with the domain's, and ``inside`` redraws
what a drawn problem has outside it (groups, stride, dilation, kernel, bias,
channels, size) from the domain's lists, then sizes the input to fit, so a
problem keeps its channels per group and its extra rows and columns.
"""

import dataclasses

from hypothesis import strategies as st

from case import DTYPES, LAYOUTS
from strategies.arguments import argument_forms

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

BATCHED_ONLY_LAYOUTS = ("channels_last", "channels_last_input", "permuted_input")


class NothingToDraw(ValueError):
    """A strategy's own choices and the domain's have nothing in common."""


def narrowed(domain, *, dtypes, layouts, paddings, max_batch, unbatched, empty_batch):
    """A problem strategy's choices, narrowed to ``domain``'s (a dict of the same
    keys); NothingToDraw names the choice left empty."""
    choices = dict(dtypes=dtypes, layouts=layouts, paddings=paddings)
    for name, values in choices.items():
        allowed = getattr(domain, name)
        if allowed is not None:
            values = tuple(value for value in values if value in allowed)
        if not values:
            raise NothingToDraw(f"it draws only {name} {list(choices[name])}, which the "
                                f"declared domain ({name}={list(allowed)}) leaves out")
        choices[name] = values
    if domain.batched == "unbatched" and not unbatched:
        raise NothingToDraw("it draws only batched (4-D) inputs, which the declared domain "
                            "(batched='unbatched') leaves out")
    batch_limit = max_batch if domain.max_batch is None else min(max_batch, domain.max_batch)
    return dict(choices, max_batch=batch_limit, empty_batch=empty_batch,
                unbatched=unbatched and domain.batched != "batched")


def _skip(reason):
    import pytest  # a domain is declared for pytest runs only (--conv2d-domain)
    pytest.skip(f"nothing to draw inside the declared domain: {reason}")


def nothing_to_draw(reason):
    """What a property draws when the domain leaves it nothing: a skip that says why
    (when drawn, not when the strategy is built, so the module still collects)."""
    return st.builds(_skip, st.just(reason))


def _inside_pair(draw, allowed, pair):
    """``pair`` where each axis is among ``allowed`` (None: anything), else redrawn."""
    if allowed is None or set(pair) <= set(allowed):
        return pair
    return (draw(st.sampled_from(allowed)), draw(st.sampled_from(allowed)))


@st.composite
def inside(draw, cases, domain):
    """``cases`` (valid Conv2dCases), each moved inside ``domain``: what the domain
    restricts and the case has outside it is redrawn from the domain's values."""
    from reference.arguments import PADDING_STRINGS
    case = draw(cases)
    if domain == ALL or domain.admits(case):
        return case
    geometry = case.geometry()
    groups = geometry.groups
    if domain.groups is not None and groups not in domain.groups:
        groups = draw(st.sampled_from(domain.groups))
    # channels per group kept, but no more channels than drawn: more groups must not
    # multiply a large regime's cost (strategies/sizes.py budgets the drawn problem)
    in_per_group = max(1, min(geometry.in_channels // geometry.groups,
                              geometry.in_channels // groups))
    out_per_group = max(1, min(geometry.out_channels // geometry.groups,
                               geometry.out_channels // groups))
    if domain.max_channels is not None:
        room = max(1, domain.max_channels // groups)
        in_per_group, out_per_group = min(in_per_group, room), min(out_per_group, room)
    kernel = geometry.kernel
    if domain.kernels is not None and kernel not in domain.kernels:
        kernel = draw(st.sampled_from(domain.kernels))
    dilation = _inside_pair(draw, domain.dilations, geometry.dilation)
    stride = _inside_pair(draw, domain.strides, geometry.stride)
    padding = (case.padding if case.padding in PADDING_STRINGS
               else (geometry.padding[0], geometry.padding[2]))  # numbers pad both sides alike
    if padding == "same" and stride != (1, 1):
        padding = (0, 0)  # 'same' takes only stride 1; numbers spell any
    kinds = domain.paddings or ("numbers", "same", "valid")
    kind = padding if padding in PADDING_STRINGS else "numbers"
    if kind not in kinds:
        kind = draw(st.sampled_from([k for k in kinds if k != "same" or 1 in (
            domain.strides or (1,))]))
        if kind == "same":
            stride = (1, 1)
        padding = kind if kind != "numbers" else (0, 0)
    extent = [dilation[axis] * (kernel[axis] - 1) + 1 for axis in (0, 1)]
    if padding == "same":
        total_pad = [extent[axis] - 1 for axis in (0, 1)]
    elif padding == "valid":
        total_pad = [0, 0]
    else:
        total_pad = [2 * padding[axis] for axis in (0, 1)]
    old_extent = [geometry.dilation[a] * (geometry.kernel[a] - 1) + 1 for a in (0, 1)]
    spatial = []
    for axis in (0, 1):
        extra = max(0, case.input_shape[-2 + axis] - old_extent[axis])
        smallest = max(1, extent[axis] - total_pad[axis])
        size = smallest + extra
        if domain.max_size is not None:
            size = max(smallest, min(size, domain.max_size))
        spatial.append(size)
    batched = geometry.batched
    if domain.batched != "either":
        batched = domain.batched == "batched"
    batch = (min(max(geometry.batch, 1), domain.max_batch or geometry.batch or 1),)
    leading = batch if batched else ()
    has_bias = case.has_bias if domain.bias == "either" else domain.bias == "with"
    out_channels = groups * out_per_group
    layout = case.layout
    if not batched and layout in BATCHED_ONLY_LAYOUTS:
        layout = "contiguous" if domain.layouts is None or "contiguous" in domain.layouts else (
            draw(st.sampled_from([l for l in domain.layouts if l not in BATCHED_ONLY_LAYOUTS]
                                 or domain.layouts)))
    return case.replace(
        input_shape=(*leading, groups * in_per_group, *spatial),
        weight_shape=(out_channels, in_per_group, *kernel),
        bias_shape=(out_channels,) if has_bias else None,
        groups=groups, layout=layout,
        stride=draw(argument_forms(stride)),
        dilation=draw(argument_forms(dilation)),
        padding=padding if isinstance(padding, str) else draw(argument_forms(padding)))


_active = ALL


def active():
    """The domain in force in this process (all of conv2d unless a run declared one)."""
    return _active


def activate(domain):
    global _active
    _active = domain
    return domain

