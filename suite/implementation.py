"""Which conv2d is under test: ``--conv2d-impl=MODULE:ATTR`` or a preset name.

A preset is a name for a ``MODULE:ATTR`` (``PRESETS``), loaded like any other
spec: only when chosen, so the suite imports no implementation itself.
Loading errors are the user's, not the suite's: they become one-line
``ImplementationError`` messages that conftest turns into a usage error.
"""

import importlib

DEFAULT = "torch.nn.functional:conv2d"

# name -> (MODULE:ATTR, what runs): the ways people run torch's own conv2d
# (implementations/presets.py says more about each), and other frameworks'.
PRESETS = {
    "eager": (DEFAULT, "torch.nn.functional.conv2d (default)"),
    "eager-no-onednn": ("implementations.correct:without_mkldnn",
                        "F.conv2d with oneDNN (mkldnn) disabled"),
    "compile": ("implementations.presets:compiled",
                "torch.compile(F.conv2d, dynamic=True), inductor; slow: seconds per new graph, "
                "use --hypothesis-profile=compile (README)"),
    "compile-static": ("implementations.presets:compiled_static",
                       "torch.compile(F.conv2d, dynamic=False): a graph per shape"),
    "module": ("implementations.presets:module", "nn.Conv2d built from the arguments"),
    # Other frameworks' conv2d, each with its domain, claims and deviations files
    # (implementations/frameworks/; pip install -e ".[NAME]").
    **{name: (f"implementations.frameworks.{name}:conv2d", f"{label}'s conv2d ('.[{name}]')")
       for name, label in (("onnxruntime", "ONNX Runtime"), ("jax", "JAX (XLA:CPU)"),
                           ("openvino", "OpenVINO"), ("tensorflow", "TensorFlow"),
                           ("tinygrad", "tinygrad"))},
}


class ImplementationError(ValueError):
    """--conv2d-impl names nothing callable."""


def describe_presets():
    """One line for ``--help``: every preset name and what it runs."""
    return "; ".join(f"{name}: {description}" for name, (_, description) in PRESETS.items())


def load_implementation(spec):
    """The callable that ``spec`` (``MODULE:ATTR``, ATTR may be dotted, or a preset
    name from ``PRESETS``) names."""
    if ":" not in spec and spec in PRESETS:
        return _load(spec, PRESETS[spec][0])
    return _load(spec, spec)


def _load(spec, target_spec):
    """The callable ``target_spec`` names; errors quote ``spec``, what the user wrote."""
    module_name, colon, attribute = target_spec.partition(":")
    if not colon or not module_name or not attribute:
        raise ImplementationError(
            f"--conv2d-impl={spec!r}: expected MODULE:ATTR, e.g. {DEFAULT}, or a preset: "
            f"{', '.join(PRESETS)}")
    try:
        target = importlib.import_module(module_name)
    except Exception as error:  # any import-time failure is the user's module's
        raise ImplementationError(
            f"--conv2d-impl={spec!r}: cannot import {module_name!r} "
            f"({type(error).__name__}: {error})") from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ImplementationError(
                f"--conv2d-impl={spec!r}: {module_name!r} has no attribute {attribute!r}") from None
    if not callable(target):
        raise ImplementationError(
            f"--conv2d-impl={spec!r}: {attribute!r} is a {type(target).__name__}, not callable")
    return _available(spec, target)


def _available(spec, conv2d):
    """``conv2d``, unless it says this torch cannot run it (``conv2d.unavailable()``: the
    reason, or None; the compile presets need torch.compile settings old torch lacks)."""
    reason = getattr(conv2d, "unavailable", lambda: None)()
    if reason is not None:
        raise ImplementationError(f"--conv2d-impl={spec}: {reason}")
    return conv2d
