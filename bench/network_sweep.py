"""The real-network sweep, and the smallest calls that reach each oneDNN kernel.

    python -m bench.network_sweep networks [--json PATH] [--threads N] [--verbose]
    python -m bench.network_sweep explore [--samples 3000] [--json PATH]
    python -m bench.network_sweep smallest [--reached FILE] [--start EXPLORE.json] [--thresholds]

``networks`` runs every distinct conv layer of ResNet-50, MobileNetV2,
EfficientNet-B0, ConvNeXt-T and the seed note (bench/network_layers.py),
forward and backward under oneDNN's verbose mode (suite/onednn.py), and
records the (pass, implementation) pairs they reach in
bench/network_kernels.json, keyed by torch version, oneDNN version, the CPU
ISA oneDNN detected and the thread count (``suite.onednn.machine_key``).  The
kernel-coverage report at the end of a gate run (suite/coverage.py) reads the
entry for its machine and says which pairs the run missed.  ``smallest`` finds,
for each pair, the smallest call that reaches it (a greedy shrink); ``explore``
runs random small calls and lists the pairs they reach.  docs/kernel-coverage.md
has the measured results.
"""

import argparse
import collections
import dataclasses
import json
import math
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from bench.network_layers import LAYERS, Layer, macs
from suite.backends import conv_backend
from suite.coverage import (NETWORK_KERNELS, REFRESH_COMMAND, load_network_kernels, relative,
                            save_network_kernels, sweep_pairs)
from suite.onednn import OnednnCapture, machine_key

LAYOUTS = ("NCHW", "NHWC")


def run_layer(layer, batch, dtype, layout, capture, backward=True, only_onednn=True):
    """Run one layer forward (and backward) under ``capture``: (pairs Counter, torch backend).

    ``only_onednn``: skip the call when torch would not send it to oneDNN (Slow2d and
    the like execute no oneDNN convolution primitive)."""
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
        return Layer(self.in_per_group * self.groups, self.out_per_group * self.groups,
                     (self.kh, self.kw), (self.sh, self.sw), (self.ph, self.pw), self.groups,
                     self.bias, (self.height, self.width))

    def size(self):
        """What "smaller" means: forward multiply-adds, then the input's size."""
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


def _print_sweep(result):
    print(f"{result['key']}")
    print(f"{result['layers']} layers x batch {result['batches']} x {result['dtypes']} x "
          f"{result['layouts']}, forward and backward: {result['calls']} calls in "
          f"{result['seconds']} s" + (f" (then {result['shrink_seconds']} s finding the "
                                      f"smallest calls)" if "shrink_seconds" in result else ""))
    pairs = sweep_pairs(result)
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
    for pass_kind, implementation in sorted(sweep_pairs(result)):
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
    torch.set_num_threads(args.threads)
    probes = random_probes(args.samples, args.seed, max_channels=args.max_channels,
                           max_size=args.max_size)
    capture = OnednnCapture()
    started = time.perf_counter()
    found = explore(probes, capture)
    capture.close()
    network = load_network_kernels(machine_key(threads=args.threads))
    network_pairs = sweep_pairs(network) if network else set()
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
    parser = argparse.ArgumentParser(prog="python -m bench.network_sweep", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    networks = commands.add_parser("networks", help="run the real networks' layers and record "
                                   "the oneDNN kernels they reach on this machine")
    networks.add_argument("--json", metavar="PATH", help="also write the result to PATH")
    networks.add_argument("--save", default=str(NETWORK_KERNELS), metavar="PATH",
                          help=f"the per-machine record to update (default: "
                               f"{relative(NETWORK_KERNELS)})")
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
