"""The convolution layers of real networks, as conv2d calls at a 224x224 input.

The kernel-coverage report (suite/coverage.py) compares the kernels a test run
reached with the kernels these layers reach on the same machine: a gate that
never runs the implementation real models use has not tested it.  The layers
are derived here from each architecture's published definition (block tables,
strides, channel widths), not from a model zoo, so the list needs no download
and reads like the papers:

- ResNet-50 (He et al. 2015), torchvision's "v1.5" variant: the stride of a
  downsampling bottleneck is on its 3x3 convolution, not its first 1x1.
- MobileNetV2 (Sandler et al. 2018), width multiplier 1.0.
- EfficientNet-B0 (Tan and Le 2019), with the squeeze-and-excitation 1x1
  convolutions on their 1x1 pooled input (those carry a bias).
- ConvNeXt-T (Liu et al. 2022): the 4x4 stride-4 stem, the 7x7 depthwise
  convolutions and the 2x2 stride-2 downsamplers (the pointwise layers of a
  ConvNeXt block are nn.Linear, not convolutions); all with a bias.
- The seed note's per-sample shapes (C=1024: an 18x19 map with a 6x3 kernel
  and padding (1, 0); a 14x14 map with a 14x1 and a 1x14 kernel), as the loop
  over samples calls them (one output channel per sample) and as the grouped
  trick calls them for two samples (channels and groups doubled).

``LAYERS`` holds each distinct call once (same channels, kernel, stride,
padding, groups, bias and input size), with every place it occurs.
``python -m bench.network_layers`` prints the list.
"""

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Layer:
    """One conv2d call of a network: ``conv2d(x[N, in, H, W], w[out, in/groups, kh, kw])``."""

    in_channels: int
    out_channels: int
    kernel: tuple
    stride: tuple
    padding: tuple
    groups: int
    bias: bool
    input_size: tuple  # (H, W) of the layer's input at a 224x224 image

    @property
    def output_size(self):
        return tuple((size + 2 * pad - k) // s + 1 for size, pad, k, s in
                     zip(self.input_size, self.padding, self.kernel, self.stride))

    def describe(self):
        """A short benchdnn-like name: ``ic64oc64_ih56iw56_kh3kw3_s1_p1x1_g1``."""
        (kh, kw), (sh, sw), (ph, pw), (h, w) = (self.kernel, self.stride, self.padding,
                                                 self.input_size)
        stride = f"s{sh}" if sh == sw else f"s{sh}x{sw}"
        return (f"ic{self.in_channels}oc{self.out_channels}_ih{h}iw{w}_kh{kh}kw{kw}_{stride}"
                f"_p{ph}x{pw}_g{self.groups}{'_bias' if self.bias else ''}")


def _conv(places, name, in_channels, out_channels, kernel, stride, size, groups=1,
          bias=False, padding=None):
    """Record one layer; return its output size.  Default padding: ``(k - 1) // 2``."""
    kernel = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    stride = stride if isinstance(stride, tuple) else (stride, stride)
    padding = tuple((k - 1) // 2 for k in kernel) if padding is None else padding
    layer = Layer(in_channels, out_channels, kernel, stride, padding, groups, bias, size)
    places.append((name, layer))
    return layer.output_size


def resnet50(places):
    size = _conv(places, "resnet50.conv1", 3, 64, 7, 2, (224, 224))          # 112x112
    size = tuple((s + 2 - 3) // 2 + 1 for s in size)                           # max pool: 56x56
    in_channels = 64
    for stage, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2),
                                                     (512, 3, 2)], start=1):
        out_channels = width * 4
        for block in range(blocks):
            first = block == 0
            step = stride if first else 1
            where = f"resnet50.layer{stage}.{block}"
            if first:
                _conv(places, f"{where}.downsample", in_channels, out_channels, 1, step, size)
            _conv(places, f"{where}.conv1", in_channels, width, 1, 1, size)
            inner = _conv(places, f"{where}.conv2", width, width, 3, step, size)
            _conv(places, f"{where}.conv3", width, out_channels, 1, 1, inner)
            in_channels, size = out_channels, inner


def mobilenet_v2(places):
    size = _conv(places, "mobilenet_v2.features.0", 3, 32, 3, 2, (224, 224))  # 112x112
    in_channels, index = 32, 1
    for expand, out_channels, repeats, stride in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2),
                                                  (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                                                  (6, 320, 1, 1)]:
        for repeat in range(repeats):
            step = stride if repeat == 0 else 1
            hidden = in_channels * expand
            where = f"mobilenet_v2.features.{index}"
            if expand != 1:
                _conv(places, f"{where}.expand", in_channels, hidden, 1, 1, size)
            inner = _conv(places, f"{where}.depthwise", hidden, hidden, 3, step, size,
                          groups=hidden)
            _conv(places, f"{where}.project", hidden, out_channels, 1, 1, inner)
            in_channels, size, index = out_channels, inner, index + 1
    _conv(places, f"mobilenet_v2.features.{index}", in_channels, 1280, 1, 1, size)


def efficientnet_b0(places):
    size = _conv(places, "efficientnet_b0.features.0", 3, 32, 3, 2, (224, 224))  # 112x112
    in_channels = 32
    for stage, (expand, kernel, stride, out_channels, repeats) in enumerate(
            [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
             (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)], start=1):
        for repeat in range(repeats):
            step = stride if repeat == 0 else 1
            hidden = in_channels * expand
            squeeze = max(1, in_channels // 4)
            where = f"efficientnet_b0.features.{stage}.{repeat}"
            if expand != 1:
                _conv(places, f"{where}.expand", in_channels, hidden, 1, 1, size)
            inner = _conv(places, f"{where}.depthwise", hidden, hidden, kernel, step, size,
                          groups=hidden)
            _conv(places, f"{where}.se.reduce", hidden, squeeze, 1, 1, (1, 1), bias=True)
            _conv(places, f"{where}.se.expand", squeeze, hidden, 1, 1, (1, 1), bias=True)
            _conv(places, f"{where}.project", hidden, out_channels, 1, 1, inner)
            in_channels, size = out_channels, inner
    _conv(places, "efficientnet_b0.features.8", in_channels, 1280, 1, 1, size)


def convnext_tiny(places):
    size = _conv(places, "convnext_tiny.stem", 3, 96, 4, 4, (224, 224), bias=True,
                 padding=(0, 0))                                               # 56x56
    dims, depths = (96, 192, 384, 768), (3, 3, 9, 3)
    for stage, (dim, depth) in enumerate(zip(dims, depths)):
        if stage:
            size = _conv(places, f"convnext_tiny.downsample{stage}", dims[stage - 1], dim, 2, 2,
                         size, bias=True, padding=(0, 0))
        for block in range(depth):
            _conv(places, f"convnext_tiny.stage{stage}.{block}.dwconv", dim, dim, 7, 1, size,
                  groups=dim, bias=True)


def seed_note(places):
    channels = 1024
    _conv(places, "seed.loop_18x19_k6x3", channels, 1, (6, 3), 1, (18, 19), padding=(1, 0))
    _conv(places, "seed.loop_14x14_k14x1", channels, 1, (14, 1), 1, (14, 14), padding=(0, 0))
    _conv(places, "seed.loop_14x14_k1x14", channels, 1, (1, 14), 1, (14, 14), padding=(0, 0))
    samples = 2
    _conv(places, "seed.grouped_18x19_k6x3", samples * channels, samples, (6, 3), 1, (18, 19),
          groups=samples, padding=(1, 0))
    _conv(places, "seed.grouped_14x14_k14x1", samples * channels, samples, (14, 1), 1,
          (14, 14), groups=samples, padding=(0, 0))


NETWORKS = {"resnet50": resnet50, "mobilenet_v2": mobilenet_v2,
            "efficientnet_b0": efficientnet_b0, "convnext_tiny": convnext_tiny,
            "seed": seed_note}


def all_places():
    """Every conv layer of every network, in order: [(name, Layer)]."""
    places = []
    for build in NETWORKS.values():
        build(places)
    return places


def distinct_layers():
    """{Layer: [names where it occurs]}, in order of first occurrence."""
    layers = {}
    for name, layer in all_places():
        layers.setdefault(layer, []).append(name)
    return layers


LAYERS = distinct_layers()


def macs(layer, batch=1):
    """Multiply-accumulates of one forward call (the sweep's cost model)."""
    out_h, out_w = layer.output_size
    return (batch * layer.out_channels * out_h * out_w * layer.in_channels // layer.groups
            * math.prod(layer.kernel))


def main():
    total = len(all_places())
    print(f"{total} conv layers, {len(LAYERS)} distinct:")
    for layer, names in LAYERS.items():
        more = f" (+{len(names) - 1} more)" if len(names) > 1 else ""
        print(f"  {layer.describe():<44} {names[0]}{more}")


if __name__ == "__main__":
    main()
