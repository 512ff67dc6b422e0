"""oneDNN's verbose mode: which convolution implementation ran, per pass.

oneDNN prints one line per executed primitive to the process's C-level stdout
(fd 1) when verbose mode is on.  ``OnednnCapture`` points fd 1 at a private
temporary file between ``start`` and ``stop`` and switches verbose mode on with
``torch._C._verbose.mkldnn_set_verbose`` (the function under
``torch.backends.mkldnn.verbose``); ``stop`` counts the ``exec ... convolution``
lines (``parse_verbose``) and hands every other line on to where fd 1 pointed,
so a caller's own C-level output is not lost.  The lines' layout differs across
oneDNN versions, so fields are found by content.

``machine_key`` names what decides which kernels a call reaches: torch, oneDNN,
the CPU's ISA (from oneDNN's header lines) and the thread count.
"""

import collections
import contextlib
import ctypes
import dataclasses
import os
import re
import sys
import tempfile

import torch
import torch.nn.functional as F

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


HEADER = {}  # oneDNN's header lines (version, isa, ...): printed once per process


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
        self._set_verbose = torch._C._verbose.mkldnn_set_verbose
        self._fflush = _libc_fflush()
        self._file = tempfile.TemporaryFile(prefix="conv2d-onednn-", buffering=0)
        self._saved = None
        self.kinds = collections.Counter()  # executions per primitive kind, all captures

    @staticmethod
    def available():
        """oneDNN present, and its verbose mode not already asked for by the user."""
        try:
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
        HEADER.update((k, v) for k, v in info.items() if k not in HEADER)
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
    if "isa" not in HEADER and OnednnCapture.available():
        try:
            capture = OnednnCapture()
            with capture.capturing():
                F.conv2d(torch.ones(2, 2, 3, 3, dtype=torch.bfloat16),
                         torch.ones(2, 2, 1, 1, dtype=torch.bfloat16))
            capture.close()
        except Exception:  # noqa: BLE001
            pass
    if "version" not in HEADER:
        with contextlib.suppress(Exception):
            found = re.search(r"MKL-DNN (v[\d.]+)", torch.__config__.show())
            if found:
                HEADER["version"] = found[1]
    return dict(HEADER)


def machine_key(info=None, threads=None):
    """What decides which kernels a call reaches: torch, oneDNN, the CPU's ISA, threads."""
    info = onednn_info() if info is None else info
    threads = torch.get_num_threads() if threads is None else threads
    version = info.get("version", "?").split(" ")[0]
    isa = info.get("isa") or f"torch cpu capability {torch.backends.cpu.get_cpu_capability()}"
    return f"torch {torch.__version__} | oneDNN {version} | {isa} | threads {threads}"
