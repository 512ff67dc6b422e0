"""The kernel sweep's tools describe real networks and valid calls (bench/network_sweep.py).

The sweep itself runs every layer under oneDNN's verbose mode (half a minute):
``python -m bench.network_sweep networks``; here, what it starts from.
"""

from bench import network_layers, network_sweep


def test_the_network_layer_list_has_every_conv_of_each_architecture():
    counts = {}
    for name, _ in network_layers.all_places():
        counts[name.split(".")[0]] = counts.get(name.split(".")[0], 0) + 1
    assert counts == {"resnet50": 53, "mobilenet_v2": 52, "efficientnet_b0": 81,
                      "convnext_tiny": 22, "seed": 5}
    layers = network_layers.LAYERS
    assert len(layers) == len(set(layers))
    stem = next(layer for layer in layers if "resnet50.conv1" in layers[layer])
    assert (stem.kernel, stem.stride, stem.padding, stem.output_size) == ((7, 7), (2, 2), (3, 3),
                                                                          (112, 112))
    last = next(layer for layer in layers if "resnet50.layer4.2.conv3" in layers[layer])
    assert (last.in_channels, last.out_channels, last.input_size) == (512, 2048, (7, 7))
    se = next(layer for layer in layers
              if "efficientnet_b0.features.6.1.se.reduce" in layers[layer])
    assert (se.in_channels, se.out_channels, se.input_size, se.bias) == (1152, 48, (1, 1), True)


def test_a_probe_describes_a_valid_call_and_knows_which_is_smaller():
    layer = next(iter(network_layers.LAYERS))
    probe = network_sweep.Probe.from_layer(layer, 2, "bfloat16", "NHWC")
    assert probe.valid() and probe.layer() == layer
    smaller = network_sweep.Probe(1, 1, 1, 1, 4, 4, 3, 3)
    assert smaller.valid() and smaller.size() < probe.size()
    assert not network_sweep.Probe(1, 1, 1, 1, 2, 2, 5, 5).valid()  # kernel larger than the input
