"""The ways one conv2d call can be written: a case's ``spelling``.

F.conv2d's signature is ``(input, weight, bias=None, stride=1, padding=0,
dilation=1, groups=1)``.  A kernel whose default stride is 2, or that reads the
bias only by position or only by name, computes the right numbers for one
spelling and the wrong ones for another, so the spelling is part of the case
(printed in its descriptor as ``call(NAME)``):

- ``mixed`` (the default): ``conv2d(input, weight, bias, stride=s, padding=p,
  dilation=d, groups=g)``, bias by position (``None`` when there is none);
- ``positional``: ``conv2d(input, weight, bias, s, p, d, g)``;
- ``keywords``: ``conv2d(input=input, weight=weight, bias=bias, stride=s, ...)``,
  an explicit ``bias=None`` when there is none;
- ``omitting_defaults``: ``conv2d(input, weight, ...)`` with only the arguments
  that differ from the default, by name; no bias argument when there is none;
- ``positional_omitting_defaults``: by position, up to the last argument that
  differs from its default (a ``None`` bias only where a later one is passed).

An argument is a default when the specification reads it as the default:
stride and dilation ``1``, padding ``0`` (any int, 1- or 2-element tuple or
list of those, never a bool and never a padding string), groups the int
``1``, bias ``None``.  An invalid value is never a default, so an invalid
call stays invalid in every spelling.
"""

SPELLINGS = ("mixed", "positional", "keywords", "omitting_defaults",
             "positional_omitting_defaults")
ORDER = ("bias", "stride", "padding", "dilation", "groups")
DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}


def _plain_int(value, expected):
    return isinstance(value, int) and not isinstance(value, bool) and value == expected


def is_default(name, value):
    """Whether ``value`` of argument ``name`` means what omitting it means."""
    if name == "bias":
        return value is None
    if name == "groups":
        return _plain_int(value, 1)
    expected = DEFAULTS[name]
    if isinstance(value, (tuple, list)):
        return len(value) in (1, 2) and all(_plain_int(part, expected) for part in value)
    return _plain_int(value, expected)


def call_parts(spelling, input, weight, bias, arguments):
    """(positional arguments, keyword arguments) of the call in ``spelling``."""
    values = {"bias": bias, **arguments}
    if spelling == "mixed":
        return (input, weight, bias), dict(arguments)
    if spelling == "positional":
        return (input, weight, *(values[name] for name in ORDER)), {}
    if spelling == "keywords":
        return (), {"input": input, "weight": weight, **values}
    if spelling == "omitting_defaults":
        return (input, weight), {name: value for name, value in values.items()
                                 if not is_default(name, value)}
    if spelling == "positional_omitting_defaults":
        given = [name for name in ORDER if not is_default(name, values[name])]
        last = ORDER.index(given[-1]) + 1 if given else 0
        return (input, weight, *(values[name] for name in ORDER[:last])), {}
    raise ValueError(f"spelling={spelling!r}: one of {SPELLINGS}")


def call(conv2d, spelling, tensors, arguments):
    """``conv2d`` called on ``tensors`` (input, weight, bias) with ``arguments`` as
    ``spelling`` writes the call."""
    positional, keywords = call_parts(spelling, *tensors, arguments)
    return conv2d(*positional, **keywords)


def describe(spelling, tensor_names, arguments):
    """The call written out, with ``tensor_names`` (input, weight, bias; strings)
    standing for the tensors: ``conv2d(x, w, stride=2)``."""
    positional, keywords = call_parts(spelling, *tensor_names, arguments)
    words = [text if isinstance(text, str) and text in tensor_names else repr(text)
             for text in positional]
    words += [f"{name}={value if name in ('input', 'weight', 'bias') and value is not None else repr(value)}"
              for name, value in keywords.items()]
    return f"conv2d({', '.join(words)})"
