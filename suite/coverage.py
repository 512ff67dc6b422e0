"""Kernel coverage: which of torch's convolution kernels a run actually exercised.

A gate that passes has only tested the kernels its examples reached.  This
pytest plugin answers "which kernels did this run exercise?" on two levels:

- **torch's backend**, per call of the implementation under test: the
  dispatcher's choice (suite/backends.py: Mkldnn, Slow2d, SlowDilated2d,
  NnpackSpatial on the CPU; Cudnn, CudaDepthwise2d, ... on CUDA), classified
  after each successful call with the very tensors and arguments it got.  For
  an implementation that is not torch's own conv2d this is what torch *would*
  pick for those arguments.
- **oneDNN's implementation**, per executed primitive and pass
  (``forward_training``, ``backward_data``, ``backward_weights``), as oneDNN's
  verbose mode names it (``brg_conv_fwd:avx512_core``, ``jit_1x1:...``;
  suite/onednn.py).  It sees forward and backward alike, whatever
  implementation is under test.

During each test's call phase the plugin borrows fd 1 for oneDNN's verbose
lines (after pytest's own capture has taken it, and back before it lets go).
In an xdist worker fd 1 is /dev/null (execnet moves its channel to a duplicate
of the original stdout), so the redirect never touches the channel.  Counts
travel to the controller on each test's report (``report.conv2d_kernels``) and
are added up there.  On CUDA, ``--kernel-coverage=profile`` adds the kernel
names a profiler sees (suite/cuda_kernels.py).

The report ends with the real-network comparison: ``bench/network_kernels.json``
records the (pass, implementation) pairs the conv layers of ResNet-50,
MobileNetV2, EfficientNet-B0, ConvNeXt-T and the seed note reach on each
machine (``python -m bench.network_sweep networks`` records them), and the
report says which of them the run missed.
"""

import contextlib
import dataclasses
import functools
import json
from pathlib import Path

import pytest
import torch

from suite import backends, cuda_kernels, onednn

NETWORK_KERNELS = Path(__file__).resolve().parent.parent / "bench" / "network_kernels.json"
REFRESH_COMMAND = "python -m bench.network_sweep networks"


@dataclasses.dataclass
class Tally:
    """Counts of one process (or of a whole run, once added up)."""

    backends: dict = dataclasses.field(default_factory=dict)  # backend -> {dtype: calls}
    onednn: dict = dataclasses.field(default_factory=dict)    # pass -> {implementation: execs}
    info: dict = dataclasses.field(default_factory=dict)      # oneDNN version, isa, ...
    cuda_kernels: dict = dataclasses.field(default_factory=dict)  # kernel name -> launches
    primitives: dict = dataclasses.field(default_factory=dict)  # oneDNN kind -> executions

    def __bool__(self):
        return bool(self.backends or self.onednn or self.info or self.cuda_kernels
                    or self.primitives)

    def count_call(self, backend, dtype):
        per_dtype = self.backends.setdefault(backend, {})
        per_dtype[dtype] = per_dtype.get(dtype, 0) + 1

    def count_executions(self, counts):
        for (pass_kind, implementation), n in counts.items():
            per_impl = self.onednn.setdefault(pass_kind, {})
            per_impl[implementation] = per_impl.get(implementation, 0) + n

    def merge(self, other):
        """Add another tally (a Tally or its ``as_dict()``, e.g. from a worker's report)."""
        other = other if isinstance(other, Tally) else Tally(**other)
        for backend, per_dtype in other.backends.items():
            for dtype, n in per_dtype.items():
                mine = self.backends.setdefault(backend, {})
                mine[dtype] = mine.get(dtype, 0) + n
        for pass_kind, per_impl in other.onednn.items():
            for implementation, n in per_impl.items():
                mine = self.onednn.setdefault(pass_kind, {})
                mine[implementation] = mine.get(implementation, 0) + n
        for name, n in other.cuda_kernels.items():
            self.cuda_kernels[name] = self.cuda_kernels.get(name, 0) + n
        for name, n in other.primitives.items():
            self.primitives[name] = self.primitives.get(name, 0) + n
        for name, value in other.info.items():
            self.info.setdefault(name, value)
        return self

    def pairs(self):
        """{(pass, implementation): executions}."""
        return {(p, i): n for p, per_impl in self.onednn.items() for i, n in per_impl.items()}

    def as_dict(self):
        return dataclasses.asdict(self)

    def take(self):
        """This tally as a dict, leaving it empty (what one test report carries)."""
        taken = self.as_dict()
        self.backends, self.onednn, self.info, self.cuda_kernels, self.primitives = (
            {}, {}, {}, {}, {})
        return taken


_tally = Tally()   # this process's counts since the last test report


def observing(conv2d, classify=True):
    """``conv2d`` that also counts torch's backend for each call that returns;
    ``classify`` False: none, for a kernel that does not hand its calls to torch (the
    backend torch would pick says nothing about it; the oneDNN primitives it makes
    torch run, if any, are still counted from oneDNN's log).

    The wrapper keeps the callable's name and signature (``functools.wraps``)
    and passes every argument through untouched; the classification runs only
    after a successful call, so a call that raises is never classified."""

    @functools.wraps(conv2d)
    def observed(*args, **kwargs):
        result = conv2d(*args, **kwargs)
        if classify:
            observe(*args, **kwargs)
        return result

    observed.conv2d_kernel_coverage = True
    return observed


_NAMES = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_dtype_names = {}


def observe(*args, **kwargs):
    """Count torch's backend for the conv2d call ``(input, weight, bias, stride, ...)``."""
    try:
        if kwargs:
            arguments = dict(zip(_NAMES, args))
            arguments.update((k, v) for k, v in kwargs.items() if k in _NAMES)
            backend = backends.conv_backend(**arguments)
            input = arguments.get("input")
        else:
            backend = backends.conv_backend(*args[:7])
            input = args[0] if args else None
        dtype = _dtype_names.get(getattr(input, "dtype", None))
        if dtype is None:
            dtype = _dtype_names[getattr(input, "dtype", None)] = str(
                getattr(input, "dtype", "?")).replace("torch.", "")
        _tally.count_call(backend, dtype)
    except Exception:  # noqa: BLE001 - counting must never fail a test
        pass


def load_network_kernels(key=None, path=NETWORK_KERNELS):
    """The recorded sweep for this machine's key, or None."""
    try:
        machines = json.loads(Path(path).read_text())["machines"]
    except (OSError, ValueError, KeyError):
        return None
    return machines.get(onednn.machine_key() if key is None else key)


def save_network_kernels(result, path=NETWORK_KERNELS):
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data.setdefault("about", "oneDNN (pass, implementation) pairs reached by the conv layers "
                             "of bench/network_layers.py, per machine; refresh with "
                             f"`{REFRESH_COMMAND}`")
    data.setdefault("machines", {})[result["key"]] = result
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def sweep_pairs(result):
    return {(p, i) for p, per_impl in result["onednn"].items() for i in per_impl}


def add_options(group):
    """``--kernel-coverage=on|off|profile`` (optional: the plugin defaults to on)."""
    group.addoption("--kernel-coverage", default="on", choices=("on", "off", "profile"),
                    help="report which torch conv backends and oneDNN kernels the run "
                         "exercised (on: backends and oneDNN, off: nothing, profile: also "
                         "CUDA kernel names via torch.profiler, slower)")


_FD_FIXTURES = frozenset({"capfd", "capfdbinary"})


class KernelCoveragePlugin:
    """Counts in every process, adds up in the controller, reports at the end.

    Register it in every process (controller and xdist workers), and route the
    implementation under test through ``observing`` for the backend counts."""

    name = "conv2d-kernel-coverage"

    def __init__(self, config, append_to_summary=True, network_kernels=NETWORK_KERNELS):
        self.config = config
        self.network_kernels = network_kernels
        self.mode = _getoption(config, "kernel_coverage", "on")
        self.worker = hasattr(config, "workerinput")
        self.device = _getoption(config, "device", "cpu")
        self.append_to_summary = append_to_summary
        self.totals = Tally()
        self.onednn = None
        if self.mode != "off" and self.device == "cpu" and onednn.OnednnCapture.available():
            with contextlib.suppress(Exception):
                self.onednn = onednn.OnednnCapture()
        self.cuda = (cuda_kernels.CudaKernelCapture()
                     if self.mode == "profile" and self.device == "cuda" else None)

    # --- in the process that runs the test ---------------------------------

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_call(self, item):
        # trylast: inside pytest's capture wrapper, so fd 1 is already pytest's when we
        # borrow it, and we give it back before pytest restores its own.  A test that
        # reads its own fd 1 (capfd) must see it live: no capture there.
        borrow = self.onednn is not None and not _FD_FIXTURES.intersection(
            getattr(item, "fixturenames", ()))
        if borrow:
            self.onednn.start()
        if self.cuda is not None:
            self.cuda.start()
        try:
            yield
        finally:
            if self.cuda is not None:
                for name, n in self.cuda.stop().items():
                    _tally.cuda_kernels[name] = _tally.cuda_kernels.get(name, 0) + n
            if borrow:
                _tally.count_executions(self.onednn.stop())
                for kind, n in self.onednn.kinds.items():
                    _tally.primitives[kind] = _tally.primitives.get(kind, 0) + n
                self.onednn.kinds.clear()
                if onednn.HEADER and not self._sent_info:
                    _tally.info.update(onednn.HEADER)
                    self._sent_info = True

    _sent_info = False

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        if _tally:
            outcome.get_result().conv2d_kernels = _tally.take()

    # --- in the controlling process ----------------------------------------

    def pytest_runtest_logreport(self, report):
        if self.worker:
            return
        observed = getattr(report, "conv2d_kernels", None)
        if observed:
            with contextlib.suppress(Exception):
                self.totals.merge(observed)

    def _observed_anything(self):
        return bool(self.totals.backends or self.totals.onednn or self.totals.cuda_kernels)

    def report_lines(self):
        """The end-of-run table, as plain lines."""
        totals = self.totals
        lines = []
        info = dict(totals.info)  # from the workers' first captures
        if "isa" not in info and self.device == "cpu":
            for k, v in onednn.onednn_info().items():  # e.g. no worker ran a oneDNN primitive
                info.setdefault(k, v)
        if totals.backends:
            lines.append("torch conv backend per call (torch's dispatcher, for the arguments "
                         "the implementation got):")
            for backend, per_dtype in sorted(totals.backends.items(),
                                             key=lambda item: -sum(item[1].values())):
                detail = ", ".join(f"{d} {n}" for d, n in sorted(per_dtype.items(),
                                                                   key=lambda i: -i[1]))
                lines.append(f"  {backend:<16} {sum(per_dtype.values()):>8} calls  ({detail})")
            if self.device == "cpu":
                missing = [b for b in backends.CPU_BACKENDS if b not in totals.backends]
                if missing:
                    lines.append(f"  CPU backends not reached: {', '.join(missing)}")
                    lines += [f"    {b} needs {backends.CPU_BACKEND_HINTS[b]}" for b in missing]
        pairs = totals.pairs()
        network = (load_network_kernels(onednn.machine_key(info), self.network_kernels)
                   if self.device == "cpu" else None)
        network_pairs = sweep_pairs(network) if network else set()
        if pairs:
            lines.append(f"oneDNN convolution primitives executed (oneDNN "
                         f"{info.get('version', '?')}, isa: {info.get('isa', '?')}):")
            for (pass_kind, implementation), n in sorted(pairs.items()):
                mark = "" if not network else ("" if (pass_kind, implementation) in network_pairs
                                               else "   (no network layer reaches it)")
                lines.append(f"  {pass_kind:<17} {implementation:<48} {n:>8}{mark}")
        elif self.onednn is not None:
            lines.append("oneDNN convolution primitives executed: none")
        if totals.primitives:
            lines.append("oneDNN primitives executed, all kinds: " + ", ".join(
                f"{kind} {n}" for kind, n in sorted(totals.primitives.items(),
                                                    key=lambda item: -item[1])))
        if self.device == "cpu" and self.onednn is not None and not pairs:
            lines.append("real networks: not compared (no oneDNN convolution of torch ran: the "
                         "implementation did not hand torch its calls)")
        elif self.device == "cpu" and self.onednn is not None:
            if network is None:
                lines.append(f"real networks: no sweep recorded for this machine "
                             f"({onednn.machine_key(info)}); run `{REFRESH_COMMAND}` (about 30 s "
                             f"of one core) to record one in {relative(self.network_kernels)}")
            else:
                reached = network_pairs & set(pairs)
                missed = sorted(network_pairs - set(pairs))
                lines.append(f"real networks (ResNet-50, MobileNetV2, EfficientNet-B0, "
                             f"ConvNeXt-T, seed note; sweep of {network.get('measured', '?')}): "
                             f"reached {len(reached)} of {len(network_pairs)}"
                             + (": missed" if missed else ""))
                for pass_kind, implementation in missed:
                    entry = network["onednn"][pass_kind][implementation]
                    smallest = entry["smallest"]
                    lines.append(f"  missed {pass_kind} {implementation}: e.g. "
                                 f"{smallest['where']} ({smallest['layer']}) at batch "
                                 f"{smallest['batch']}, {smallest['dtype']}, {smallest['layout']}")
                    if entry.get("minimal_call"):
                        lines.append(f"    smallest call found (forward and backward): "
                                     f"{entry['minimal_call']}")
        elif self.mode != "off" and self.device == "cpu":
            lines.append("oneDNN kernels: not captured (oneDNN unavailable, or ONEDNN_VERBOSE "
                         "set by the user)")
        if self.device == "cuda":
            for name, value in cuda_kernels.cuda_state():
                lines.append(f"{name}: {value}")
            if totals.cuda_kernels:
                lines.append("CUDA convolution kernels launched (torch.profiler):")
                for name, n in sorted(totals.cuda_kernels.items(), key=lambda i: -i[1]):
                    lines.append(f"  {n:>8}  {name}")
            elif self.mode != "profile":
                lines.append("cuDNN algorithms: torch does not report them; run with "
                             "--kernel-coverage=profile for the kernel names")
        return lines

    def pytest_terminal_summary(self, terminalreporter):
        if self.worker or self.mode == "off" or not self._observed_anything():
            return
        terminalreporter.write_sep("=", f"conv2d kernel coverage (torch {torch.__version__})")
        for line in self.report_lines():
            terminalreporter.write_line(line)

    def markdown_lines(self):
        """The same report for the ``--conv2d-summary`` markdown file."""
        if self.mode == "off" or not self._observed_anything():
            return []
        lines = ["", "### Kernel coverage", ""]
        lines += [f"    {line}" for line in self.report_lines()]
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if self.onednn is not None:
            with contextlib.suppress(Exception):
                self.onednn.close()
        path = _getoption(self.config, "conv2d_summary", None)
        if self.worker or not self.append_to_summary or not path:
            return
        lines = self.markdown_lines()
        if lines:
            with contextlib.suppress(OSError), open(path, "a") as summary:
                summary.write("\n".join(lines) + "\n")


def _getoption(config, name, default):
    try:
        value = config.getoption(name)
    except (ValueError, AttributeError):
        return default
    return default if value is None else value


def relative(path):
    with contextlib.suppress(ValueError):
        return str(Path(path).relative_to(Path.cwd()))
    return str(path)
