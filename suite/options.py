"""What is under test and how it runs: the options, defined once.

pytest (conftest.py), the replay and drift commands and the suite's own child
processes (registry rechecks, ``python -m suite.run``) take these options,
spelled the same way; a Replay line and a child's command line repeat them
(``values``, ``arguments``).  ``configure`` turns their values into the
run's state (threads, backend flags, the implementation, its domain and
claims, the error model) and says what is wrong in one line.
"""

import argparse
import dataclasses

from case import domain
from reference import ErrorModel
from suite.device import (DEVICES, FLAG_DEFAULTS, FLAG_HELP, SWITCHES, DeviceError, apply_flags,
                          check_device, tf32_in_effect)
from suite.implementation import DEFAULT, ImplementationError, describe_presets, load_implementation

# Seconds a call may take.  The slowest calls of the default run on this
# project's 2-core machine took about 1 s (a per-sample formulation of the seed
# note's C=1024 problem); torch.compile's first call takes about 20 s, so the
# ``compile`` preset needs a larger limit (README).
DEFAULT_TIMEOUT = 60.0


class UsageError(ValueError):
    """An option value the suite cannot use; the message is one line."""


def _whole_number(text):
    """argparse type: an int >= 1, else a one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def _seconds(text):
    """argparse type: a number of seconds > 0, else a one-line usage error."""
    try:
        value = float(text)
    except ValueError:
        value = 0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


@dataclasses.dataclass(frozen=True)
class Option:
    """One option: its name as pytest's ``getoption`` and argparse's ``dest`` know it."""

    name: str
    default: object
    help: str
    metavar: str = None
    choices: tuple = None
    type: object = None

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")

    def keywords(self):
        keywords = dict(default=self.default, help=self.help, dest=self.name)
        for field in ("metavar", "choices", "type"):
            if getattr(self, field) is not None:
                keywords[field] = getattr(self, field)
        return keywords


OPTIONS = (
    Option("conv2d_impl", DEFAULT, metavar="MODULE:ATTR",
           help=f"the conv2d callable under test (default: {DEFAULT}), or a preset name: "
                f"{describe_presets()}"),
    Option("conv2d_error_model", "direct", choices=ErrorModel.KINDS,
           help="how a correct implementation may round: 'direct' (sums of the products in any "
                "order: exact data bitwise) or 'transform' (Winograd or FFT forward: a normwise "
                "bound on both tiers) (default: direct)"),
    Option("conv2d_domain", None, metavar="FILE.toml",
           help="the part of conv2d the implementation claims and what it promises beyond "
                "values (case/domain.py); only calls inside it are drawn and made (default: "
                "the implementation's own 'domain' attribute, else all of conv2d under torch's "
                "contract)"),
    Option("conv2d_deviations", None, metavar="FILE.toml",
           help="the implementation's own known deviations, in the registry's schema "
                "(default: its own 'deviations' attribute, else none)"),
    Option("device", "cpu", choices=DEVICES,
           help="where the implementation runs; the reference always runs on the CPU "
                "(default: cpu)"),
    Option("torch_threads", 1, metavar="N", type=_whole_number,
           help="torch intra-op threads per test process (default: 1, since pytest -n auto "
                "already runs one process per core; the threads properties also run other "
                "counts)"),
    Option("conv2d_call_timeout", DEFAULT_TIMEOUT, metavar="SECONDS", type=_seconds,
           help=f"end a call that does not return within SECONDS as a hang (default: "
                f"{DEFAULT_TIMEOUT:g})"),
    *(Option(name, default, choices=SWITCHES, help=f"{FLAG_HELP[name]} (default: {default})")
      for name, default in FLAG_DEFAULTS.items()),
)


def add_to_pytest(group):
    """Every option, in pytest's option group."""
    for option in OPTIONS:
        group.addoption(option.flag, **option.keywords())


def add_to_parser(parser):
    """Every option, in an argparse parser (replay, drift, child processes)."""
    for option in OPTIONS:
        parser.add_argument(option.flag, **option.keywords())


def values(getoption):
    """(name, value) of every option: what a replay or a child process must repeat."""
    return [(option.name, getoption(option.name)) for option in OPTIONS]


def arguments(pairs):
    """``--name=value`` words for (name, value) pairs, leaving out unset ones."""
    return [f"--{name.replace('_', '-')}={value}" for name, value in pairs if value is not None]


@dataclasses.dataclass(frozen=True)
class Setup:
    """The run's state the options ask for."""

    conv2d: object
    model: ErrorModel
    domain: domain.Domain
    deviations: object  # a path, or None


def _declared(getoption, conv2d, name):
    """An option's value, else the implementation's attribute of that name (a kernel
    that carries its own domain or deviations file), else None."""
    value = getoption(f"conv2d_{name}")
    return value if value is not None else getattr(conv2d, name, None)


def configure(getoption):
    """Apply the options (threads, backend flags, the declared domain) and return the
    ``Setup``; ``UsageError`` says in one line what cannot be used."""
    import torch
    torch.set_num_threads(getoption("torch_threads"))
    try:
        conv2d = load_implementation(getoption("conv2d_impl"))
        check_device(getoption("device"))
        declared = _declared(getoption, conv2d, "domain")
        claimed = domain.read(None if declared is None else str(declared))
    except (ImplementationError, DeviceError) as error:
        raise UsageError(str(error)) from None
    except domain.DomainError as error:
        raise UsageError(f"--conv2d-domain={error}") from None
    options = argparse.Namespace(getoption=getoption)
    apply_flags(options)
    domain.activate(claimed)
    model = ErrorModel(getoption("conv2d_error_model"), tf32=tf32_in_effect(options),
                       flushes_subnormals=claimed.claims.subnormals == "flush")
    deviations = _declared(getoption, conv2d, "deviations")
    return Setup(conv2d, model, claimed, None if deviations is None else str(deviations))
