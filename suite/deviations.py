"""Known deviations of torch from the reference: expected, reported, never silent.

Each entry of ``tests/known_deviations.toml`` names a torch version range, a
condition on the case, the behaviour torch shows instead and the reason it is
accepted.  A case that fails the specification is an expected deviation when
an entry for the running torch matches both its condition and what the call
did; a failure that the entry does not describe stays a failure.  Runs report
which entries deviated and which matched nothing, so an entry that torch has
since fixed does not linger unnoticed.

Conditions and behaviours are Python expressions over the names below,
compiled when the file is read: a typo fails at once, naming the entry.
"""

import dataclasses
import functools
import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from reference import ConvArgumentError

KNOWN_DEVIATIONS = Path(__file__).resolve().parent.parent / "tests" / "known_deviations.toml"

CASE_NAMES = ("rule", "batch", "in_channels", "out_channels", "kernel", "bias_shape", "stride",
              "padding", "dilation", "groups", "dtype", "weight_dtype", "bias_dtype", "layout",
              "tier", "device")
OUTCOME_NAMES = ("raised", "message", "out_shape", "out_dtype")
FUNCTIONS = {"per_axis": lambda value: (value, value) if isinstance(value, int) else
             tuple(value) * (2 // max(1, len(value))),
             "min": min, "max": max, "len": len, "any": any, "all": all}
FIELDS = ("id", "torch", "condition", "behaviour", "observed", "reason")


class DeviationFileError(ValueError):
    """The deviations file cannot be used; the message names the entry and field."""


def release(version):
    """(2, 13, 0) from '2.13.0+cpu' or '2.15.0.dev20260101'."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])


_COMPARE = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
            "!=": lambda a, b: a != b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}


def _version_range(text):
    """A predicate on release tuples for '>=2.13.0, <2.15'."""
    clauses = []
    for clause in text.split(","):
        match = re.fullmatch(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+){0,2})\s*", clause)
        if not match:
            raise ValueError(f"{clause.strip()!r} is not a clause like '>=2.13.0'")
        clauses.append((_COMPARE[match[1]], release(match[2])))

    def pad(numbers):
        return numbers + (0,) * (3 - len(numbers))
    return lambda version: all(compare(pad(version), pad(bound)) for compare, bound in clauses)


def _expression(text, names):
    code = compile(text, "<deviation>", "eval")
    unknown = sorted(set(code.co_names) - set(names) - set(FUNCTIONS) - {"None", "True", "False"})
    if unknown:
        raise ValueError(f"unknown names {unknown}; use {', '.join(names)}")
    return code


@dataclasses.dataclass(frozen=True)
class Deviation:
    """One known deviation of torch from the specification."""

    id: str
    torch: str
    condition: str
    behaviour: str
    observed: str
    reason: str
    measured: str = ""

    def __post_init__(self):
        for name, names in (("torch", None), ("condition", CASE_NAMES),
                            ("behaviour", CASE_NAMES + OUTCOME_NAMES)):
            try:
                compiled = (_version_range(self.torch) if names is None
                            else _expression(getattr(self, name), names))
            except (ValueError, SyntaxError) as error:
                raise DeviationFileError(
                    f"{KNOWN_DEVIATIONS.name}: entry {self.id!r}, field {name!r}: {error}") from None
            object.__setattr__(self, f"_{name}", compiled)

    def applies_to(self, torch_version):
        return self._torch(release(torch_version))

    def matches_case(self, facts):
        return bool(eval(self._condition, {"__builtins__": {}, **FUNCTIONS}, facts))

    def matches_behaviour(self, facts):
        return bool(eval(self._behaviour, {"__builtins__": {}, **FUNCTIONS}, facts))


@functools.lru_cache(maxsize=None)
def load(path=KNOWN_DEVIATIONS):
    """Every entry of the deviations file, checked."""
    try:
        entries = tomllib.loads(Path(path).read_text()).get("deviation", [])
    except tomllib.TOMLDecodeError as error:
        raise DeviationFileError(f"{Path(path).name}: {error}") from None
    deviations, seen = [], set()
    for number, entry in enumerate(entries, 1):
        missing = [field for field in FIELDS if not isinstance(entry.get(field), str)]
        extra = sorted(set(entry) - set(FIELDS) - {"measured"})
        if missing or extra:
            raise DeviationFileError(f"{Path(path).name}: entry {number} ({entry.get('id')!r}): "
                                     f"missing {missing}, unknown {extra}")
        if entry["id"] in seen:
            raise DeviationFileError(f"{Path(path).name}: entry id {entry['id']!r} is repeated")
        seen.add(entry["id"])
        deviations.append(Deviation(**entry))
    return tuple(deviations)


def applicable(torch_version=None):
    """The entries for this torch (default: the installed one)."""
    if torch_version is None:
        import torch
        torch_version = torch.__version__
    return [deviation for deviation in load() if deviation.applies_to(torch_version)]


def case_facts(case, device):
    """The names a condition may use, for ``case`` (any case, valid or not)."""
    try:
        case.geometry()
        rule = None
    except ConvArgumentError as error:
        rule = error.rule.value
    input_shape, weight_shape = case.input_shape, case.weight_shape
    input_dtype, weight_dtype, bias_dtype = case.dtypes
    return dict(
        rule=rule, batch=input_shape[0] if len(input_shape) == 4 else None,
        in_channels=input_shape[-3] if len(input_shape) >= 3 else None,
        out_channels=weight_shape[0] if weight_shape else None,
        kernel=tuple(weight_shape[2:]), bias_shape=case.bias_shape, stride=case.stride,
        padding=case.padding, dilation=case.dilation, groups=case.groups, dtype=input_dtype,
        weight_dtype=weight_dtype, bias_dtype=bias_dtype, layout=case.layout, tier=case.tier,
        device=device)


def outcome_facts(output, error):
    """What a call did, as the names a behaviour may use."""
    return dict(raised=None if error is None else type(error).__name__,
                message="" if error is None else str(error),
                out_shape=None if output is None else tuple(output.shape),
                out_dtype=None if output is None else str(output.dtype).removeprefix("torch."))
