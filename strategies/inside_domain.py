"""Drawing inside a kernel's declared domain (case/domain.py), by construction.

A narrow domain would starve a filter, so nothing is filtered but the
domain's refusals (conditions, narrow by nature): ``narrowed`` intersects a
strategy's own choices (dtypes, layouts, paddings, batch) with the domain's,
and ``inside`` redraws what a drawn problem has outside it (groups, stride,
dilation, kernel, bias, channels, size) from the domain's lists, then sizes
the input to fit, so a problem keeps its channels per group and its extra rows
and columns.
"""

from hypothesis import reject
from hypothesis import strategies as st

from case.domain import PADDING_KINDS, tally
from case.model import fitting_layouts
from reference.arguments import PADDING_STRINGS
from strategies.arguments import argument_forms

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
    restricts and the case has outside it is redrawn from the domain's values; a
    case the domain refuses is rejected."""
    case = draw(cases)
    if domain.admits(case):
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
    kinds = domain.paddings or PADDING_KINDS
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
    if not fitting_layouts((layout,), batched=batched, has_bias=has_bias):
        layout = "contiguous" if domain.layouts is None or "contiguous" in domain.layouts else (
            draw(st.sampled_from(fitting_layouts(domain.layouts, batched=batched,
                                                 has_bias=has_bias) or domain.layouts)))
    moved = case.replace(
        input_shape=(*leading, groups * in_per_group, *spatial),
        weight_shape=(out_channels, in_per_group, *kernel),
        bias_shape=(out_channels,) if has_bias else None,
        groups=groups, layout=layout,
        stride=draw(argument_forms(stride)),
        dilation=draw(argument_forms(dilation)),
        padding=padding if isinstance(padding, str) else draw(argument_forms(padding)))
    if domain.refused(moved) is not None:
        tally["refused"] += 1
        reject()
    return moved
