"""Kernel coverage: which of torch's convolution kernels a run actually exercised.

A gate that passes has only tested the kernels its examples reached.  This
module answers "which kernels did this run exercise?" on two levels:

- **torch's backend**, per call of the implementation under test: the
  dispatcher's choice (``torch._C._select_conv_backend``: Mkldnn, Slow2d,
  SlowDilated2d, NnpackSpatial on the CPU; Cudnn, CudaDepthwise2d, ... on
  CUDA), classified after each successful call with the very tensors and
  arguments it got.  For an implementation that is not torch's own conv2d this
  is what torch *would* pick for those arguments.
- **oneDNN's implementation**, per executed primitive and pass
  (``forward_training``, ``backward_data``, ``backward_weights``), as oneDNN's
  verbose mode names it (``brg_conv_fwd:avx512_core``, ``jit_1x1:...``).  It
  sees forward and backward alike, whatever implementation is under test.

How the oneDNN side is captured: oneDNN prints one line per executed primitive
to the process's C-level stdout (fd 1) when verbose mode is on.  During each
test's call phase the plugin points fd 1 at a private temporary file (after
pytest's own capture has taken fd 1, and back before it lets go) and switches
verbose mode on with ``torch._C._verbose.mkldnn_set_verbose`` (the function
under ``torch.backends.mkldnn.verbose``); afterwards it counts the
``exec ... convolution`` lines and hands every other line on to where fd 1
pointed (pytest's capture), so the test's own C-level output is not lost.  In
an xdist worker fd 1 is /dev/null (execnet moves its channel to a duplicate of
the original stdout), so the redirect never touches the channel.  Counts
travel to the controller on each test's report (``report.conv2d_kernels``)
and are added up there.

The real-network comparison: ``python -m suite.coverage networks`` runs every
distinct conv layer of ResNet-50, MobileNetV2, EfficientNet-B0, ConvNeXt-T and
the seed note (bench/network_layers.py) and records the (pass, implementation)
pairs they reach in bench/network_kernels.json, keyed by torch version, oneDNN
version, the CPU ISA oneDNN detected and the thread count.  The end-of-run
report reads the entry for this machine and says which pairs the run missed;
``python -m suite.coverage smallest`` finds, for each missed pair, the
smallest call that reaches it.
"""

import collections
import contextlib
import ctypes
import dataclasses
import functools
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import pytest

NETWORK_KERNELS = Path(__file__).resolve().parent.parent / "bench" / "network_kernels.json"
REFRESH_COMMAND = "python -m suite.coverage networks"
PASSES = ("forward_training", "forward_inference", "backward_data", "backward_weights",
          "backward")
# The CPU backends torch's dispatcher can give a 2-D convolution (Xnnpack2d only on
# mobile builds; Empty / MkldnnEmpty are the zero-size shortcuts).
CPU_BACKENDS = ("Mkldnn", "NnpackSpatial", "Slow2d", "SlowDilated2d")
# How to reach each (measured on torch 2.13.0, CPU, one thread).
CPU_BACKEND_HINTS = {
    "Mkldnn": "float32 with batch >= 2, groups > 1, both kernel sides > 3 or a big input "
              "(and not a stride-1 1x1 kernel below batch 16); bfloat16/float16 where the CPU "
              "has them",
    "NnpackSpatial": "float32, oneDNN disabled, batch >= 16, kernel sides < 17, no dilation "
                     "(e.g. F.conv2d(ones(16, 1, 1, 1), ones(1, 1, 1, 1)) under "
                     "torch.backends.mkldnn.flags(enabled=False))",
    "Slow2d": "float64, integers, complex, or oneDNN disabled",
    "SlowDilated2d": "a dilation > 1 on the slow path (float64, or oneDNN disabled)",
}


# --------------------------------------------------------------------------
# oneDNN verbose lines
# --------------------------------------------------------------------------

_MARKERS = ("onednn_verbose,", "dnnl_verbose,", "mkldnn_verbose,")
_PROBLEM = re.compile(r"^(mb\d+)?_?(g\d+)?_?ic\d+")


@dataclasses.dataclass(frozen=True)
class Execution:
    """One executed oneDNN convolution primitive."""

    pass_kind: str       # oneDNN's prop_kind: forward_training, backward_data, ...
    implementation: str  # e.g. brg_conv_fwd:avx512_core
    engine: str = "cpu"
    problem: str = ""    # benchdnn problem descriptor, e.g. mb2_ic16oc32_ih14oh14kh3...
    kind: str = "convolution"  # the primitive kind (reorder, matmul, ...) when asked for any


def parse_line(line, kinds=("convolution",)):
    """An ``Execution`` for a verbose line reporting a primitive execution, else None.

    The layout differs across oneDNN versions (1.x/2.x: ``dnnl_verbose,exec,cpu,
    convolution,<impl>,<prop>,...``; 3.x: ``onednn_verbose,v1,primitive,exec,cpu,...``,
    optionally with a timestamp field), so fields are found by content: the
    operation field ``exec``, then engine, primitive kind, implementation, pass."""
    if not line.startswith(_MARKERS):
        return None
    fields = line.rstrip("\r\n").split(",")
    for index, field in enumerate(fields):
        if field == "exec":
            break
    else:
        return None
    if index > 0 and fields[index - 1] == "graph":
        return None  # oneDNN graph API partitions have their own layout
    rest = fields[index + 1:index + 5]
    if len(rest) < 4 or rest[0] not in ("cpu", "gpu") or (kinds is not None
                                                         and rest[1] not in kinds):
        return None
    engine, kind, implementation, pass_kind = rest
    problem = next((field for field in fields[index + 5:] if _PROBLEM.match(field)), "")
    return Execution(pass_kind, implementation, engine, problem, kind)


def parse_info(line):
    """(name, value) for oneDNN's header lines (version, ISA, runtime), else None."""
    if not line.startswith(_MARKERS) or ",info," not in line:
        return None
    text = line.rstrip("\r\n").split(",info,", 1)[1]
    if text.startswith(("oneDNN v", "DNNL v", "MKL-DNN v")):
        return "version", text.split(" ", 1)[1]
    if text.startswith("cpu,isa:"):
        return "isa", text[len("cpu,isa:"):]
    if text.startswith("cpu,runtime:"):
        return "cpu_runtime", text[len("cpu,runtime:"):]
    return None


def parse_verbose(text):
    """(Counter of convolution (pass, implementation) executions, {info name: value},
    other output, Counter of executions per primitive kind).

    ``other`` holds every line that is not oneDNN's (the test's own C-level
    output), so the caller can pass it on."""
    counts, info, other, kinds = collections.Counter(), {}, [], collections.Counter()
    for line in text.splitlines(keepends=True):
        if not line.startswith(_MARKERS):
            other.append(line)
            continue
        if ",exec," in line:
            execution = parse_line(line, kinds=None)
            if execution is not None:
                kinds[execution.kind] += 1
                if execution.kind == "convolution":
                    counts[execution.pass_kind, execution.implementation] += 1
        elif ",info," in line:
            found = parse_info(line)
            if found:
                info.setdefault(*found)
    return counts, info, "".join(other), kinds


# --------------------------------------------------------------------------
# torch's backend for one call
# --------------------------------------------------------------------------

def _pair(value):
    if type(value) is int:
        return [value, value]
    value = [int(v) for v in value]
    return value * 2 if len(value) == 1 else value


_backend_names = {}  # torch._C._ConvBackend member -> name (the enum's .name costs ~5 us)


def _backend_name(chosen):
    name = _backend_names.get(chosen)
    if name is None:
        import torch
        _backend_names.update((member, key) for key, member in
                              torch._C._ConvBackend.__members__.items())
        name = _backend_names.get(chosen) or chosen.name
    return name


def conv_backend(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """The name of the backend torch's dispatcher selects for ``F.conv2d(...)``.

    Padding strings are resolved as F.conv2d does ('valid' is 0; 'same' pads
    ``dilation*(k-1)`` per axis, the odd one on the right/bottom by padding the
    input first), an unbatched 3-D input is given its batch dimension, and
    1-element tuples are broadcast.  Never raises: "unknown" when torch cannot
    classify the call, "functorch" inside vmap/grad (the transform decides the
    call that really runs)."""
    try:
        import torch
        if not (isinstance(input, torch.Tensor) and isinstance(weight, torch.Tensor)):
            return "unknown"
        wrapped = torch._C._functorch.is_functorch_wrapped_tensor
        if wrapped(input) or wrapped(weight) or (isinstance(bias, torch.Tensor)
                                                 and wrapped(bias)):
            return "functorch"
        if input.dim() == 3 and weight.dim() == 4:
            input = input.unsqueeze(0)
        stride, dilation = _pair(stride), _pair(dilation)
        if isinstance(padding, str):
            if padding == "valid":
                padding = [0, 0]
            elif padding == "same":
                totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
                padding = [total // 2 for total in totals]
                extra = [total % 2 for total in totals]
                if any(extra):  # torch pads the input by the odd row/column, then convolves
                    shape = list(input.shape)
                    shape[2] += extra[0]
                    shape[3] += extra[1]
                    format = (torch.channels_last if input.is_contiguous(
                        memory_format=torch.channels_last) and not input.is_contiguous()
                        else torch.contiguous_format)
                    input = torch.empty(shape, dtype=input.dtype, device=input.device,
                                        memory_format=format)
            else:
                return "unknown"
        else:
            padding = _pair(padding)
        chosen = torch._C._select_conv_backend(input, weight, bias, stride, padding, dilation,
                                               False, [0, 0], int(groups))
        return _backend_name(chosen)
    except Exception:  # noqa: BLE001 - classification must never fail the caller
        return "unknown"


# --------------------------------------------------------------------------
# What this process observed
# --------------------------------------------------------------------------

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
_onednn_info = {}  # oneDNN's header lines: printed once per process, kept for the key


def observing(conv2d):
    """``conv2d`` that also counts torch's backend for each call that returns.

    The wrapper keeps the callable's name and signature (``functools.wraps``)
    and passes every argument through untouched; the classification runs only
    after a successful call, so a call that raises is never classified."""

    @functools.wraps(conv2d)
    def observed(*args, **kwargs):
        result = conv2d(*args, **kwargs)
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
            backend = conv_backend(**arguments)
            input = arguments.get("input")
        else:
            backend = conv_backend(*args[:7])
            input = args[0] if args else None
        dtype = _dtype_names.get(getattr(input, "dtype", None))
        if dtype is None:
            dtype = _dtype_names[getattr(input, "dtype", None)] = str(
                getattr(input, "dtype", "?")).replace("torch.", "")
        _tally.count_call(backend, dtype)
    except Exception:  # noqa: BLE001 - counting must never fail a test
        pass


# --------------------------------------------------------------------------
# Capturing oneDNN's verbose output
# --------------------------------------------------------------------------

def _libc_fflush():
    try:
        libc = ctypes.CDLL(None)
        libc.fflush.argtypes = [ctypes.c_void_p]
        return lambda: libc.fflush(None)
    except (OSError, AttributeError):
        return lambda: None


class OnednnCapture:
    """Point fd 1 at a private file and turn oneDNN verbose on, between start and stop.

    ``stop`` returns the Counter of (pass, implementation) executions seen, and
    writes whatever else reached fd 1 back to where fd 1 pointed before."""

    def __init__(self):
        import torch
        self._set_verbose = torch._C._verbose.mkldnn_set_verbose
        self._fflush = _libc_fflush()
        self._file = tempfile.TemporaryFile(prefix="conv2d-onednn-", buffering=0)
        self._saved = None
        self.kinds = collections.Counter()  # executions per primitive kind, all captures

    @staticmethod
    def available():
        """oneDNN present, and its verbose mode not already asked for by the user."""
        try:
            import torch
            if not torch.backends.mkldnn.is_available():
                return False
        except Exception:  # noqa: BLE001
            return False
        return not any(os.environ.get(name) for name in ("ONEDNN_VERBOSE", "DNNL_VERBOSE",
                                                          "MKLDNN_VERBOSE"))

    def start(self):
        if self._saved is not None:
            return
        sys.stdout.flush()
        self._fflush()
        self._saved = os.dup(1)
        os.dup2(self._file.fileno(), 1)
        if not self._set_verbose(1):
            self._restore()

    def _restore(self):
        self._fflush()
        os.dup2(self._saved, 1)
        os.close(self._saved)
        self._saved = None

    def stop(self):
        if self._saved is None:
            return collections.Counter()
        self._set_verbose(0)
        self._restore()
        size = self._file.seek(0, os.SEEK_END)
        self._file.seek(0)
        text = self._file.read(size).decode("utf-8", "replace") if size else ""
        self._file.seek(0)
        self._file.truncate()
        counts, info, other, kinds = parse_verbose(text)
        _onednn_info.update((k, v) for k, v in info.items() if k not in _onednn_info)
        self.kinds.update(kinds)
        if other:
            with contextlib.suppress(OSError):
                os.write(1, other.encode("utf-8", "replace"))
        return counts

    def close(self):
        self.stop()
        self._file.close()

    @contextlib.contextmanager
    def capturing(self):
        """``with capture.capturing() as counts:`` counts are filled in on exit."""
        counts = collections.Counter()
        self.start()
        try:
            yield counts
        finally:
            counts.update(self.stop())


def onednn_info():
    """oneDNN's version, CPU ISA and runtime, from its verbose header (probed once)."""
    if "isa" not in _onednn_info and OnednnCapture.available():
        try:
            import torch
            import torch.nn.functional as F
            capture = OnednnCapture()
            with capture.capturing():
                F.conv2d(torch.ones(2, 2, 3, 3, dtype=torch.bfloat16),
                         torch.ones(2, 2, 1, 1, dtype=torch.bfloat16))
            capture.close()
        except Exception:  # noqa: BLE001
            pass
    if "version" not in _onednn_info:
        with contextlib.suppress(Exception):
            import torch
            found = re.search(r"MKL-DNN (v[\d.]+)", torch.__config__.show())
            if found:
                _onednn_info["version"] = found[1]
    return dict(_onednn_info)


def machine_key(info=None, threads=None):
    """What decides which kernels a call reaches: torch, oneDNN, the CPU's ISA, threads."""
    import torch
    info = onednn_info() if info is None else info
    threads = torch.get_num_threads() if threads is None else threads
    version = info.get("version", "?").split(" ")[0]
    isa = info.get("isa") or f"torch cpu capability {torch.backends.cpu.get_cpu_capability()}"
    return f"torch {torch.__version__} | oneDNN {version} | {isa} | threads {threads}"


# --------------------------------------------------------------------------
# CUDA: what torch exposes about cuDNN
# --------------------------------------------------------------------------

def cuda_state():
    """[(name, value)] of cuDNN facts and flags torch exposes (empty without CUDA)."""
    try:
        import torch
        if not torch.cuda.is_available():
            return []
        cudnn = torch.backends.cudnn
        return [("device", torch.cuda.get_device_name()),
                ("CUDA / cuDNN", f"{torch.version.cuda} / {cudnn.version()}"),
                ("cuDNN enabled / benchmark / deterministic / allow_tf32",
                 f"{cudnn.enabled} / {cudnn.benchmark} / {cudnn.deterministic} / "
                 f"{cudnn.allow_tf32}"),
                ("cuDNN v8 plan cache (TORCH_CUDNN_V8_API_LRU_CACHE_LIMIT)",
                 os.environ.get("TORCH_CUDNN_V8_API_LRU_CACHE_LIMIT", "default (10000)"))]
    except Exception:  # noqa: BLE001
        return []


_CUDA_CONV_KERNEL = re.compile(r"conv|fprop|dgrad|wgrad|winograd|fft|implicit|xmma|cudnn|"
                               r"im2col|gemm", re.IGNORECASE)


class CudaKernelCapture:
    """Names of the CUDA kernels launched during a test, by torch.profiler (opt-in).

    torch does not say which cuDNN engine it ran; the kernel names do (cuDNN's
    kernels carry the algorithm: ``implicit_convolve_sgemm``, ``winograd``,
    ``fft``, ``xmma_fprop``/``dgrad``/``wgrad``, ...).  Starting a profiler per
    test costs milliseconds, so this runs only with ``--kernel-coverage=profile``."""

    def __init__(self):
        self._profiler = None

    def start(self):
        with contextlib.suppress(Exception):
            import torch
            self._profiler = torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CUDA])
            self._profiler.__enter__()

    def stop(self):
        names = collections.Counter()
        profiler, self._profiler = self._profiler, None
        if profiler is None:
            return names
        try:
            profiler.__exit__(None, None, None)
            for event in profiler.events():
                if str(getattr(event, "device_type", "")).endswith("CUDA") and \
                        _CUDA_CONV_KERNEL.search(event.name):
                    names[event.name] += 1
        except Exception:  # noqa: BLE001
            pass
        return names


# --------------------------------------------------------------------------
# The real-network sweep, recorded per machine
# --------------------------------------------------------------------------

def load_network_kernels(key=None, path=NETWORK_KERNELS):
    """The recorded sweep for this machine's key, or None."""
    try:
        machines = json.loads(Path(path).read_text())["machines"]
    except (OSError, ValueError, KeyError):
        return None
    return machines.get(machine_key() if key is None else key)


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


LAYOUTS = ("NCHW", "NHWC")


def run_layer(layer, batch, dtype, layout, capture, backward=True, only_onednn=True):
    """Run one layer forward (and backward) under ``capture``: (pairs Counter, torch backend).

    ``only_onednn``: skip the call when torch would not send it to oneDNN (Slow2d and
    the like execute no oneDNN convolution primitive)."""
    import torch
    import torch.nn.functional as F
    # The values do not choose the kernel; constant data is the cheapest to make.
    format = torch.channels_last if layout == "NHWC" else torch.contiguous_format
    h, w = layer.input_size
    x = torch.full((batch, layer.in_channels, h, w), 0.5, dtype=dtype).contiguous(
        memory_format=format)
    weight = torch.full((layer.out_channels, layer.in_channels // layer.groups, *layer.kernel),
                        0.25, dtype=dtype).contiguous(memory_format=format)
    bias = torch.full((layer.out_channels,), 0.125, dtype=dtype) if layer.bias else None
    arguments = dict(stride=layer.stride, padding=layer.padding, groups=layer.groups)
    backend = conv_backend(x, weight, bias, **arguments)
    if only_onednn and backend != "Mkldnn":
        return collections.Counter(), backend  # no oneDNN convolution runs: save the time
    for tensor in (x, weight, bias):
        if tensor is not None:
            tensor.requires_grad_(backward)
    with capture.capturing() as counts:
        out = F.conv2d(x, weight, bias, **arguments)
        if backward:
            out.backward(torch.full_like(out, 0.5))  # full_like keeps out's memory format
    return counts, backend


def sweep(layers=None, batches=(1, 2), dtypes=("float32", "bfloat16"), layouts=LAYOUTS,
          threads=1, progress=None):
    """Every layer x batch x dtype x layout, forward and backward, under oneDNN verbose."""
    import torch
    from bench.network_layers import LAYERS, macs
    layers = LAYERS if layers is None else layers
    torch.set_num_threads(threads)
    capture = OnednnCapture()
    pairs, backends, started, calls = {}, collections.Counter(), time.perf_counter(), 0
    for layer, names in layers.items():
        for batch in batches:
            for dtype_name in dtypes:
                for layout in layouts:
                    counts, backend = run_layer(layer, batch, getattr(torch, dtype_name),
                                                layout, capture)
                    calls += 1
                    backends[f"{backend} {dtype_name}"] += 1
                    witness = {"layer": layer.describe(), "where": names[0], "batch": batch,
                               "dtype": dtype_name, "layout": layout,
                               "macs": macs(layer, batch)}
                    for (pass_kind, implementation), n in counts.items():
                        entry = pairs.setdefault(pass_kind, {}).setdefault(
                            implementation, {"executions": 0, "calls": 0, "smallest": witness,
                                             "dtypes": [], "layouts": [], "batches": []})
                        entry["executions"] += n
                        entry["calls"] += 1
                        if witness["macs"] < entry["smallest"]["macs"]:
                            entry["smallest"] = witness
                        for field, value in (("dtypes", dtype_name), ("layouts", layout),
                                             ("batches", batch)):
                            if value not in entry[field]:
                                entry[field].append(value)
        if progress:
            progress(layer, names)
    capture.close()
    return {"key": machine_key(threads=threads), "measured": time.strftime("%Y-%m-%d"),
            "seconds": round(time.perf_counter() - started, 1), "calls": calls,
            "layers": len(layers), "batches": list(batches), "dtypes": list(dtypes),
            "layouts": list(layouts), "onednn": pairs, "backends": dict(backends)}


def add_minimal_calls(result, explore_samples=1000, seed=0):
    """For each pair of a sweep, the smallest call found to reach it.

    ``shrink`` starts from the smallest network layer reaching the pair, from
    that layer at batch 2 (float32 at batch 1 reaches oneDNN only when the call
    is big, by torch's heuristic), and from the smallest of ``explore_samples``
    random small calls that reached it; the smallest result wins."""
    from bench.network_layers import LAYERS
    by_name = {layer.describe(): layer for layer in LAYERS}
    capture = OnednnCapture()
    explored = explore(random_probes(explore_samples, seed), capture) if explore_samples else {}
    for pass_kind, per_impl in result["onednn"].items():
        for implementation, entry in per_impl.items():
            target = (pass_kind, implementation)
            witness = entry["smallest"]
            starts = []
            if witness["layer"] in by_name:
                layer_start = Probe.from_layer(by_name[witness["layer"]], witness["batch"],
                                               witness["dtype"], witness["layout"])
                starts.append(layer_start)
                if layer_start.batch == 1:
                    starts.append(dataclasses.replace(layer_start, batch=2))
            if target in explored:
                starts.append(explored[target][1])
            best = None
            for start in starts:
                if start is not starts[0] and not reaches(start, target, capture):
                    continue
                probe, _ = shrink(start, target, capture)
                if best is None or probe.size() < best.size():
                    best = probe
            if best is not None:
                entry["minimal"] = dataclasses.asdict(best)
                entry["minimal_call"] = best.describe()
    capture.close()


def _sweep_pairs(result):
    return {(p, i) for p, per_impl in result["onednn"].items() for i in per_impl}


# --------------------------------------------------------------------------
# The smallest call that reaches a (pass, implementation) pair
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Probe:
    """A conv2d call to try: per-group channels, so every shape is valid."""

    batch: int
    in_per_group: int
    out_per_group: int
    groups: int
    height: int
    width: int
    kh: int
    kw: int
    sh: int = 1
    sw: int = 1
    ph: int = 0
    pw: int = 0
    bias: bool = False
    dtype: str = "float32"
    layout: str = "NCHW"

    def valid(self):
        return (min(self.batch, self.in_per_group, self.out_per_group, self.groups, self.height,
                    self.width, self.kh, self.kw, self.sh, self.sw) >= 1
                and min(self.ph, self.pw) >= 0 and self.ph < self.kh and self.pw < self.kw
                and self.kh <= self.height + 2 * self.ph and self.kw <= self.width + 2 * self.pw)

    def layer(self):
        from bench.network_layers import Layer
        return Layer(self.in_per_group * self.groups, self.out_per_group * self.groups,
                     (self.kh, self.kw), (self.sh, self.sw), (self.ph, self.pw), self.groups,
                     self.bias, (self.height, self.width))

    def size(self):
        """What "smaller" means: forward multiply-adds, then the input's size."""
        from bench.network_layers import macs
        layer = self.layer()
        return (macs(layer, self.batch), self.batch * layer.in_channels * self.height
                * self.width, layer.out_channels)

    def elements(self):
        """Input plus weight elements: how big the call is to write down."""
        layer = self.layer()
        return (self.batch * layer.in_channels * self.height * self.width
                + layer.out_channels * self.in_per_group * self.kh * self.kw)

    def describe(self):
        layer = self.layer()
        return (f"N={self.batch} C_in={layer.in_channels} C_out={layer.out_channels} "
                f"g={self.groups} HxW={self.height}x{self.width} k={self.kh}x{self.kw} "
                f"s={self.sh}x{self.sw} p={self.ph}x{self.pw}{' bias' if self.bias else ''} "
                f"{self.dtype} {self.layout}")

    @classmethod
    def from_layer(cls, layer, batch, dtype, layout):
        g = layer.groups
        return cls(batch, layer.in_channels // g, layer.out_channels // g, g,
                   *layer.input_size, *layer.kernel, *layer.stride, *layer.padding,
                   layer.bias, dtype, layout)


_SHRINKABLE = ("batch", "groups", "in_per_group", "out_per_group", "height", "width", "kh",
               "kw", "sh", "sw", "ph", "pw")


def reaches(probe, target, capture):
    import torch
    if not probe.valid():
        return False
    counts, _ = run_layer(probe.layer(), probe.batch, getattr(torch, probe.dtype), probe.layout,
                          capture)
    return target in counts


def shrink(probe, target, capture, budget=400):
    """Greedily the smallest probe (by ``Probe.size``) that still reaches ``target``.

    Tries, for each dimension, the smallest value, half, and one less; keeps a
    change when the pair is still reached.  Returns (probe, trials)."""
    trials, improved = 0, True
    while improved and trials < budget:
        improved = False
        for name in _SHRINKABLE:
            value = getattr(probe, name)
            lowest = 0 if name in ("ph", "pw") else 1
            for candidate in sorted({lowest, (value + lowest) // 2, value - 1}):
                if candidate >= value or candidate < lowest:
                    continue
                trial = dataclasses.replace(probe, **{name: candidate})
                if name == "kh":
                    trial = dataclasses.replace(trial, ph=min(trial.ph, candidate - 1))
                if name == "kw":
                    trial = dataclasses.replace(trial, pw=min(trial.pw, candidate - 1))
                if not trial.valid() or trial.size() >= probe.size():
                    continue
                trials += 1
                if reaches(trial, target, capture):
                    probe, improved = trial, True
                    break
        if not improved:
            for name in ("dtype", "layout"):  # a plainer dtype or layout, if it still reaches
                plain = {"dtype": "float32", "layout": "NCHW"}[name]
                if getattr(probe, name) != plain:
                    trial = dataclasses.replace(probe, **{name: plain})
                    trials += 1
                    if reaches(trial, target, capture):
                        probe, improved = trial, True
    return probe, trials


def thresholds(probe, target, capture):
    """For each dimension of a minimal probe, whether one less (or one more) loses the pair."""
    notes = []
    for name in _SHRINKABLE:
        value = getattr(probe, name)
        for other in (value - 1, value + 1):
            trial = dataclasses.replace(probe, **{name: other})
            if trial.valid() and not reaches(trial, target, capture):
                notes.append(f"{name}={other} loses it")
    for name, other in (("dtype", "bfloat16" if probe.dtype == "float32" else "float32"),
                        ("layout", "NHWC" if probe.layout == "NCHW" else "NCHW")):
        trial = dataclasses.replace(probe, **{name: other})
        if not reaches(trial, target, capture):
            notes.append(f"{other} loses it")
    return notes


# --------------------------------------------------------------------------
# The pytest plugin
# --------------------------------------------------------------------------

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
        if self.mode != "off" and self.device == "cpu" and OnednnCapture.available():
            with contextlib.suppress(Exception):
                self.onednn = OnednnCapture()
        self.cuda = CudaKernelCapture() if self.mode == "profile" and self.device == "cuda" \
            else None

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
                if _onednn_info and not self._sent_info:
                    _tally.info.update(_onednn_info)
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
            for k, v in onednn_info().items():  # e.g. no worker ran a oneDNN primitive
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
                missing = [b for b in CPU_BACKENDS if b not in totals.backends]
                if missing:
                    lines.append(f"  CPU backends not reached: {', '.join(missing)}")
                    lines += [f"    {b} needs {CPU_BACKEND_HINTS[b]}" for b in missing]
        pairs = totals.pairs()
        network = (load_network_kernels(machine_key(info), self.network_kernels)
                   if self.device == "cpu" else None)
        network_pairs = _sweep_pairs(network) if network else set()
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
        if self.device == "cpu" and self.onednn is not None:
            if network is None:
                lines.append(f"real networks: no sweep recorded for this machine "
                             f"({machine_key(info)}); run `{REFRESH_COMMAND}` (about 30 s "
                             f"of one core) to record one in {_relative(self.network_kernels)}")
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
            for name, value in cuda_state():
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
        import torch
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


def _relative(path):
    with contextlib.suppress(ValueError):
        return str(Path(path).relative_to(Path.cwd()))
    return str(path)


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

def _print_sweep(result):
    print(f"{result['key']}")
    print(f"{result['layers']} layers x batch {result['batches']} x {result['dtypes']} x "
          f"{result['layouts']}, forward and backward: {result['calls']} calls in "
          f"{result['seconds']} s" + (f" (then {result['shrink_seconds']} s finding the "
                                      f"smallest calls)" if "shrink_seconds" in result else ""))
    pairs = _sweep_pairs(result)
    print(f"{len(pairs)} distinct oneDNN (pass, implementation) pairs:")
    for pass_kind, implementation in sorted(pairs):
        entry = result["onednn"][pass_kind][implementation]
        smallest = entry["smallest"]
        print(f"  {pass_kind:<17} {implementation:<48} {entry['executions']:>5} execs "
              f"{entry['calls']:>4} calls  {'/'.join(entry['dtypes'])} "
              f"{'/'.join(entry['layouts'])}  e.g. {smallest['where']} batch "
              f"{smallest['batch']} {smallest['dtype']} {smallest['layout']}")
        if "minimal_call" in entry:
            print(f"  {'':<17} smallest call found: {entry['minimal_call']}")
    print("torch backends:")
    for backend, n in sorted(result["backends"].items()):
        print(f"  {backend:<28} {n:>5} calls")


def _networks(args):
    from bench.network_layers import LAYERS
    layers = LAYERS
    if args.quick:  # every K-th layer only
        layers = dict(list(LAYERS.items())[::args.quick])
    done = [0]

    def progress(layer, names):
        done[0] += 1
        if args.verbose:
            print(f"  [{done[0]}/{len(layers)}] {layer.describe()}", file=sys.stderr, flush=True)
    result = sweep(layers, batches=tuple(args.batches), threads=args.threads, progress=progress)
    if not args.no_shrink:
        started = time.perf_counter()
        add_minimal_calls(result, args.explore)
        result["shrink_seconds"] = round(time.perf_counter() - started, 1)
    _print_sweep(result)
    if not args.no_save:
        save_network_kernels(result, args.save)
        print(f"recorded in {args.save}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(f"written to {args.json}")


def _smallest(args):
    import torch
    from bench.network_layers import LAYERS
    torch.set_num_threads(args.threads)
    result = load_network_kernels(machine_key(threads=args.threads), args.save)
    if result is None:
        raise SystemExit(f"no network sweep for this machine: run `{REFRESH_COMMAND}` first")
    wanted = set(args.pair or [])
    reached = set()
    if args.reached:
        reached = {tuple(line.split()[:2]) for line in Path(args.reached).read_text().splitlines()
                   if line.strip()}
    by_name = {layer.describe(): layer for layer in LAYERS}
    explored = json.loads(Path(args.start).read_text()) if args.start else {}
    capture = OnednnCapture()
    found = {}
    for pass_kind, implementation in sorted(_sweep_pairs(result)):
        label = f"{pass_kind} {implementation}"
        if (wanted and label not in wanted) or (pass_kind, implementation) in reached:
            continue
        witness = result["onednn"][pass_kind][implementation]["smallest"]
        start = Probe.from_layer(by_name[witness["layer"]], witness["batch"], witness["dtype"],
                                 witness["layout"])
        if label in explored:  # a smaller start found by `explore`
            candidate = Probe(**explored[label]["smallest"])
            if candidate.size() < start.size():
                start, witness = candidate, {"where": "explore"}
        started = time.perf_counter()
        probe, trials = shrink(start, (pass_kind, implementation), capture)
        notes = thresholds(probe, (pass_kind, implementation), capture) if args.thresholds else []
        print(f"{label}\n  smallest: {probe.describe()}  ({trials} trials, "
              f"{time.perf_counter() - started:.1f} s; from {witness['where']})")
        if notes:
            print(f"  around it: {'; '.join(notes)}")
        found[label] = {"smallest": dataclasses.asdict(probe), "from": witness, "notes": notes}
    capture.close()
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")


def random_probes(count, seed=0, dtypes=("float32", "bfloat16"), layouts=LAYOUTS,
                  max_channels=64, max_size=32):
    """``count`` random small valid probes (log-uniform channel counts and sizes)."""
    import random
    rng = random.Random(seed)

    def small(top):  # log-uniform in [1, top]
        return max(1, min(top, int(round(2 ** rng.uniform(0, math.log2(top))))))
    made = []
    while len(made) < count:
        groups = rng.choice((1, 1, 1, 2, 3, 4)) if rng.random() < 0.8 else None
        in_per_group = small(max_channels)
        if groups is None:  # depthwise
            groups, in_per_group = small(max_channels), 1
        kh, kw = rng.choice((1, 1, 3, 3, 5, 7, 2)), rng.choice((1, 1, 3, 3, 5, 7, 2))
        if rng.random() < 0.3:
            kw = kh
        probe = Probe(batch=rng.choice((1, 1, 2, 3)), in_per_group=in_per_group,
                      out_per_group=small(max_channels) if rng.random() < 0.7 else 1,
                      groups=groups, height=small(max_size), width=small(max_size), kh=kh, kw=kw,
                      sh=rng.choice((1, 1, 2, 3)), sw=rng.choice((1, 1, 2, 3)),
                      ph=rng.randrange(kh), pw=rng.randrange(kw), bias=rng.random() < 0.5,
                      dtype=rng.choice(dtypes), layout=rng.choice(layouts))
        if probe.valid():
            made.append(probe)
    return made


def explore(probes, capture):
    """{(pass, impl): [hits, smallest probe]} over ``probes`` (forward and backward)."""
    import torch
    found = {}
    for probe in probes:
        counts, backend = run_layer(probe.layer(), probe.batch, getattr(torch, probe.dtype),
                                    probe.layout, capture)
        for pair in counts:
            entry = found.setdefault(pair, [0, probe])
            entry[0] += 1
            if probe.elements() < entry[1].elements():
                entry[1] = probe
    return found


def _explore(args):
    import torch
    torch.set_num_threads(args.threads)
    probes = random_probes(args.samples, args.seed, max_channels=args.max_channels,
                           max_size=args.max_size)
    capture = OnednnCapture()
    started = time.perf_counter()
    found = explore(probes, capture)
    capture.close()
    network = load_network_kernels(machine_key(threads=args.threads))
    network_pairs = _sweep_pairs(network) if network else set()
    print(f"{len(probes)} random calls (channels <= {args.max_channels}, sizes <= "
          f"{args.max_size}), forward and backward, in {time.perf_counter() - started:.1f} s: "
          f"{len(found)} pairs")
    for pair in sorted(found):
        hits, probe = found[pair]
        mark = "network" if pair in network_pairs else "       "
        print(f"  {mark} {pair[0]:<17} {pair[1]:<48} {hits / len(probes):6.1%}  smallest: "
              f"{probe.describe()}")
    for pair in sorted(network_pairs - set(found)):
        print(f"  network {pair[0]:<17} {pair[1]:<48}   none")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {f"{p} {i}": {"fraction": hits / len(probes), "smallest": dataclasses.asdict(probe)}
             for (p, i), (hits, probe) in found.items()}, indent=1, sort_keys=True) + "\n")


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(prog="python -m suite.coverage", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    networks = commands.add_parser("networks", help="run the real networks' layers and record "
                                   "the oneDNN kernels they reach on this machine")
    networks.add_argument("--json", metavar="PATH", help="also write the result to PATH")
    networks.add_argument("--save", default=str(NETWORK_KERNELS), metavar="PATH",
                          help=f"the per-machine record to update (default: "
                               f"{_relative(NETWORK_KERNELS)})")
    networks.add_argument("--no-save", action="store_true", help="print only")
    networks.add_argument("--threads", type=int, default=1,
                          help="torch threads (default 1, as the gate's workers use)")
    networks.add_argument("--batches", type=int, nargs="+", default=[1, 2])
    networks.add_argument("--quick", type=int, default=0, metavar="K",
                          help="only every K-th layer (a rough, faster sweep)")
    networks.add_argument("--verbose", action="store_true", help="print each layer")
    networks.add_argument("--no-shrink", action="store_true",
                          help="skip finding the smallest call that reaches each pair")
    networks.add_argument("--explore", type=int, default=1000, metavar="N",
                          help="random small calls tried as starts for the smallest calls "
                               "(default 1000)")
    smallest = commands.add_parser("smallest", help="for each pair the recorded sweep reaches, "
                                   "the smallest conv2d call that reaches it")
    smallest.add_argument("--pair", action="append", metavar="'PASS IMPL'",
                          help="only this pair (repeatable)")
    smallest.add_argument("--reached", metavar="FILE",
                          help="skip the pairs listed in FILE ('PASS IMPL' per line)")
    smallest.add_argument("--thresholds", action="store_true",
                          help="also say which one-step changes lose the pair")
    smallest.add_argument("--start", metavar="JSON",
                          help="an `explore --json` result: start from its smallest call "
                               "where that is smaller than the network layer")
    smallest.add_argument("--threads", type=int, default=1)
    smallest.add_argument("--save", default=str(NETWORK_KERNELS), metavar="PATH",
                          help="the per-machine record to read")
    smallest.add_argument("--json", metavar="PATH", help="also write the results to PATH")
    explore_ = commands.add_parser("explore", help="run random small convolutions and list "
                                   "the pairs they reach, with how often and the smallest call")
    explore_.add_argument("--samples", type=int, default=2000)
    explore_.add_argument("--seed", type=int, default=0)
    explore_.add_argument("--threads", type=int, default=1)
    explore_.add_argument("--max-channels", type=int, default=64)
    explore_.add_argument("--max-size", type=int, default=32)
    explore_.add_argument("--json", metavar="PATH", help="also write the results to PATH")
    args = parser.parse_args(argv)
    {"networks": _networks, "smallest": _smallest, "explore": _explore}[args.command](args)


if __name__ == "__main__":
    main()
