"""The one-line case descriptor: compact, parseable, safe to paste into a shell.

    in2x3x7x7:w4x3x3x3:b4:s1:p(1,0):d[1,2]:g1:float32:contiguous:exact:seed42

Fields, separated by ``:``, in this order: ``in`` input shape, ``w`` weight
shape, ``b`` bias shape (absent: no bias), ``s`` stride, ``p`` padding, ``d``
dilation, ``g`` groups, the dtype (``input/weight/bias`` when they differ),
the layout, the data tier and ``seed``.  Argument values keep their Python
form: ``1``, ``(1,)``, ``(2,1)``, ``[1,2]``, ``same``.  Then, where they
apply: nn.Conv2d's padding mode (``reflect``), the per-sample formulation
(``grouped_trick``: it makes the case a per-sample one, with a 5-D weight
``(N, O, C/g, kh, kw)`` and a bias ``(N, O)``), each tensor's data features
(``input(e-140,sparse)``, ``weight(none,0=1)``, ``bias(e3)``:
case/features.py), the call's spelling (``call(positional)``:
case/spellings.py), the context it is called in (``context(grad=weight,threads=3)``:
case/context.py), and the transforms that derived the call from the case
before them (``crop(2,0)``, case/transforms.py), in the order they were
applied.
"""

import ast
import re

from case.context import DEFAULT as DEFAULT_CONTEXT
from case.context import CallContext, ContextError
from case.features import TENSORS, FeatureError, TensorFeatures
from case.transforms import parse_transform


class DescriptorError(ValueError):
    """A descriptor that cannot be read; the message names the bad field."""


def _shape(shape):
    return "x".join(str(size) for size in shape)


def _value(value):
    if isinstance(value, str):
        return value
    return repr(value).replace(" ", "")


def format_case(case):
    """The descriptor of ``case`` (a derived case: its base's, then the transform's token)."""
    if getattr(case, "derived_from", None) is not None:
        base, transform = case.derived_from
        return f"{format_case(base)}:{transform.token()}"
    fields = [f"in{_shape(case.input_shape)}", f"w{_shape(case.weight_shape)}"]
    if case.bias_shape is not None:
        fields.append(f"b{_shape(case.bias_shape)}")
    fields += [f"s{_value(case.stride)}", f"p{_value(case.padding)}",
               f"d{_value(case.dilation)}", f"g{_value(case.groups)}"]
    dtypes = [dtype for dtype in case.dtypes if dtype is not None]
    fields.append(case.dtype if len(set(dtypes)) == 1 else "/".join(dtypes))
    fields += [case.layout, case.tier, f"seed{case.seed}"]
    fields += [word for word in (getattr(case, "padding_mode", "zeros"),
                                 getattr(case, "formulation", None)) if word not in ("zeros", None)]
    fields += [token for token in (getattr(case, f"{tensor}_data", TensorFeatures()).token(tensor)
                                   for tensor in TENSORS) if token]
    if getattr(case, "spelling", "mixed") != "mixed":
        fields.append(f"call({case.spelling})")
    context = getattr(case, "context", DEFAULT_CONTEXT).token()
    if context:
        fields.append(context)
    return ":".join(fields)


_PARENTHESISED = re.compile(r"(input|weight|bias|call|context)\((.*)\)")


def _parse_parenthesised(token, name, text):
    """(field, value) of a data-features, spelling or context token."""
    if name == "call":
        return "spelling", text
    if name == "context":
        try:
            return "context", CallContext.from_token(text)
        except ContextError as error:
            raise DescriptorError(f"field {token!r}: {error}") from None
    try:
        return f"{name}_data", TensorFeatures.from_token(text)
    except FeatureError as error:
        raise DescriptorError(f"field {token!r}: {error}") from None


_FIELD = re.compile(r"(seed|in|w|b|s|p|d|g)(.*)")


def _parse_shape(key, text):
    if text == "":
        return ()
    if not re.fullmatch(r"\d+(x\d+)*", text):
        raise DescriptorError(f"field {key!r}: {text!r} is not a shape like 2x3x7x7")
    return tuple(int(size) for size in text.split("x"))


def _parse_value(key, text):
    if key == "p" and re.fullmatch(r"([A-Za-z]\w*)?", text) and text not in ("True", "False", "None"):
        return text  # a padding string, valid ('same') or not ('SAME')
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise DescriptorError(f"field {key!r}: {text!r} is not a Python literal") from None


def parse_fields(text, *, dtypes, words):
    """(keyword arguments of the case ``text`` describes, its transforms in order).

    ``words`` maps each word that is a whole field to ``(field, value)``, e.g.
    ``"channels_last": ("layout", "channels_last")``.
    """
    if not isinstance(text, str) or not text.strip():
        raise DescriptorError("empty descriptor")
    tokens = text.strip().split(":")
    fields, transforms = {}, []
    keyed = {"in": "input_shape", "w": "weight_shape", "b": "bias_shape", "s": "stride",
             "p": "padding", "d": "dilation", "g": "groups", "seed": "seed"}
    for token in tokens:
        try:
            transform = parse_transform(token)
        except ValueError as error:
            raise DescriptorError(str(error)) from None
        if transform is not None:
            transforms.append(transform)
            continue
        if transforms:
            raise DescriptorError(f"field {token!r} after a transform in {text!r}: transforms "
                                  f"come last")
        parenthesised = _PARENTHESISED.fullmatch(token)
        named = (words[token][0] if token in words
                 else "dtype" if token.split("/")[0] in dtypes else None)
        if parenthesised:
            named, value = _parse_parenthesised(token, *parenthesised.groups())
        if named in fields:
            raise DescriptorError(f"repeated field {named!r}: {token!r} in {text!r}")
        if parenthesised:
            fields[named] = value
        elif token in words:
            fields[named] = words[token][1]
        elif token.split("/")[0] in dtypes:
            names = token.split("/")
            unknown = [name for name in names if name not in dtypes]
            if unknown or len(names) > 3:
                raise DescriptorError(f"field 'dtype': {token!r}; dtypes are {', '.join(dtypes)}")
            fields["dtype"] = names[0]
            fields["weight_dtype"] = names[1] if len(names) > 1 else None
            fields["bias_dtype"] = names[2] if len(names) > 2 else None
        else:
            match = _FIELD.fullmatch(token)
            if not match or keyed[match[1]] in fields:
                raise DescriptorError(f"unknown or repeated field {token!r} in {text!r}")
            key, rest = match[1], match[2]
            if key in ("in", "w", "b"):
                fields[keyed[key]] = _parse_shape(key, rest)
            elif key == "seed":
                if not rest.isdigit():
                    raise DescriptorError(f"field 'seed': {rest!r} is not a non-negative integer")
                fields["seed"] = int(rest)
            else:
                fields[keyed[key]] = _parse_value(key, rest)
    for required in ("input_shape", "weight_shape"):
        if required not in fields:
            raise DescriptorError(f"missing field {required!r} in {text!r}")
    return fields, transforms
