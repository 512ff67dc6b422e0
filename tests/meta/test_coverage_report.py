"""The kernel-coverage report counts what it says it counts (suite/coverage.py).

Its parts: oneDNN's verbose lines and their capture (suite/onednn.py), torch's
backend choice (suite/backends.py).

oneDNN's verbose lines are parsed by content, in the layouts oneDNN 2.x and
3.x print; torch's backend is classified for every argument form F.conv2d
takes and never raises; counts from several processes add up; the report
compares the run against the recorded real-network sweep.
"""

import inspect
import json
import os
import types

import pytest
import torch
import torch.nn.functional as F

from suite import backends, coverage, onednn

# Real lines from torch 2.13.0's oneDNN v3.12.0 (ONEDNN_VERBOSE=1), abridged only in the
# memory-descriptor field where noted.
FORWARD = ("onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx10_1_512_amx,"
           "forward_training,src:bf16:a:blocked:acdb::f0 wei:bf16:a:blocked:AcdB32a2b::f0 "
           "bia:undef::undef::: dst:bf16:a:blocked:acdb::f0,attr-scratchpad:user,"
           "alg:convolution_direct,mb2_ic16oc32_ih14oh14kh3sh1dh0ph1_iw14ow14kw3sw1dw0pw1,0.13916")
BACKWARD_DATA = ("onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_bwd:avx10_1_512_amx"
                 "+brg_conv_fwd:avx10_1_512_amx,backward_data,src:bf16:a:blocked:acdb::f0 "
                 "wei:bf16:a:blocked:BcdA16b2a::f0 bia:undef::undef::: dst:bf16:a:blocked:acdb"
                 "::f0,attr-scratchpad:user,alg:convolution_direct,"
                 "mb2_ic16oc32_ih14oh14kh3sh1dh0ph1_iw14ow14kw3sw1dw0pw1,0.0681152")
BACKWARD_WEIGHTS = ("onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx512_core,"
                    "backward_weights,src:f32:a:blocked:aBcd16b::f0 wei:f32:a:blocked:"
                    "ABcd16b16a::f0 bia:undef::undef::: dst:f32:a:blocked:aBcd16b::f0,"
                    "attr-scratchpad:user,alg:convolution_direct,"
                    "mb2_g4ic16oc32_ih14oh14kh3sh1dh0ph1_iw14ow14kw3sw1dw0pw1,0.0610352")
REORDER = ("onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:bf16::blocked:abcd::f0"
           " dst:bf16::blocked:acdb::f0,attr-scratchpad:user,,2x16x14x14,0.00708008")
NESTED_CREATE = ("onednn_verbose,v1,primitive,create_nested:cache_miss,cpu,convolution,"
                 "brg_conv_fwd:avx10_1_512_amx,forward_training,src:bf16:a:blocked:acdb::f0,"
                 "attr-scratchpad:user,alg:convolution_direct,"
                 "mb2_ic32oc16_ih14oh14kh3sh1dh0ph1_iw14ow14kw3sw1dw0pw1,0.728027")
HEADER = "".join(f"onednn_verbose,v1,{line}\n" for line in [
    "info,oneDNN v3.12.0 (commit 80afa71049cd69a3df32adcccb623b12cd7baa22)",
    "info,cpu,runtime:OpenMP,nthr:1",
    "info,cpu,isa:Intel AVX10.1 and Intel AMX with bfloat16 and 8-bit integer support",
    "info,gpu,runtime:none",
    "primitive,info,template:operation,engine,primitive,implementation,prop_kind,"
    "memory_descriptors,attributes,auxiliary,problem_desc,exec_time"])
# The layouts of other oneDNN versions: 2.x (no "v1,primitive"), 3.x with a timestamp.
OLD_STYLE = ("dnnl_verbose,exec,cpu,convolution,jit:avx2,forward_training,src_f32::blocked:"
             "aBcd8b:f0 wei_f32::blocked:ABcd8b8a:f0 dst_f32::blocked:aBcd8b:f0,,"
             "alg:convolution_direct,mb1_ic16oc16_ih7oh7kh5sh1dh0ph2_iw7ow7kw5sw1dw0pw2,0.0439")
TIMESTAMPED = ("onednn_verbose,v1,1701423456789.125,primitive,exec,cpu,convolution,"
               "jit_1x1:avx512_core,backward_weights,src:f32::blocked:abcd::f0,,"
               "alg:convolution_direct,mb1_ic64oc64_ih56oh56kh1sh1dh0ph0_iw56ow56kw1sw1dw0pw0,1.5")
GRAPH = ("onednn_verbose,v1,graph,exec,cpu,100002,convolution,conv_bias_relu,data:f32:acdb,"
         "strict,dnnl_partition_impl,dnnl_backend,0.1")


def test_execution_lines_of_each_pass_give_pass_and_implementation():
    assert onednn.parse_line(FORWARD) == onednn.Execution(
        "forward_training", "brg_conv_fwd:avx10_1_512_amx", "cpu",
        "mb2_ic16oc32_ih14oh14kh3sh1dh0ph1_iw14ow14kw3sw1dw0pw1")
    assert onednn.parse_line(BACKWARD_DATA).implementation == (
        "brg_conv_bwd:avx10_1_512_amx+brg_conv_fwd:avx10_1_512_amx")
    assert onednn.parse_line(BACKWARD_DATA).pass_kind == "backward_data"
    weights = onednn.parse_line(BACKWARD_WEIGHTS)
    assert (weights.pass_kind, weights.implementation) == ("backward_weights", "jit:avx512_core")
    assert weights.problem.startswith("mb2_g4ic16")


def test_fields_are_found_by_content_in_other_oneDNN_layouts():
    old = onednn.parse_line(OLD_STYLE)
    assert (old.pass_kind, old.implementation) == ("forward_training", "jit:avx2")
    stamped = onednn.parse_line(TIMESTAMPED)
    assert (stamped.pass_kind, stamped.implementation) == ("backward_weights",
                                                           "jit_1x1:avx512_core")


@pytest.mark.parametrize("line", [REORDER, NESTED_CREATE, GRAPH, "", "plain C output\n",
                                  "onednn_verbose,v1,primitive,exec,cpu", HEADER.splitlines()[0]])
def test_lines_that_are_not_a_convolution_execution_count_nothing(line):
    assert onednn.parse_line(line) is None


def test_a_verbose_stream_gives_counts_header_and_the_other_output_untouched():
    text = (HEADER + FORWARD + "\n" + REORDER + "\nhello from C\n" + FORWARD + "\n"
            + BACKWARD_DATA + "\n" + NESTED_CREATE + "\npartial line without newline")
    counts, info, other, kinds = onednn.parse_verbose(text)
    assert kinds == {"convolution": 3, "reorder": 1}
    assert counts == {("forward_training", "brg_conv_fwd:avx10_1_512_amx"): 2,
                      ("backward_data", "brg_conv_bwd:avx10_1_512_amx+brg_conv_fwd:"
                                        "avx10_1_512_amx"): 1}
    assert info["version"].startswith("v3.12.0")
    assert info["isa"] == "Intel AVX10.1 and Intel AMX with bfloat16 and 8-bit integer support"
    assert info["cpu_runtime"] == "OpenMP,nthr:1"
    assert other == "hello from C\npartial line without newline"


def _select(input, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    return torch._C._select_conv_backend(input, weight, bias, list(stride), list(padding),
                                         list(dilation), False, [0, 0], groups).name


def test_the_backend_is_torchs_own_choice_for_every_argument_form():
    x, w = torch.ones(2, 4, 9, 8), torch.ones(6, 4, 3, 2)
    expected = _select(x, w, padding=(1, 1))
    assert backends.conv_backend(x, w, None, 1, 1, 1, 1) == expected
    assert backends.conv_backend(x, w, None, (1,), [1], (1,), 1) == expected
    assert backends.conv_backend(x, w, padding="valid") == _select(x, w)
    # 'same', even kernel width: torch pads one column first, then pads (1, 0) symmetrically
    same = backends.conv_backend(x, w, padding="same")
    assert same == _select(torch.ones(2, 4, 9, 9), w, padding=(1, 0))
    assert backends.conv_backend(x[0], w) == _select(x[:1], w)  # unbatched
    assert backends.conv_backend(x.double(), w.double(), dilation=2) == "SlowDilated2d"
    assert backends.conv_backend(x.double(), w.double()) == "Slow2d"
    assert backends.conv_backend(x[:0], w) in ("Empty", "MkldnnEmpty")


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN in this torch")
def test_the_backend_follows_the_oneDNN_switch():
    x, w = torch.ones(2, 4, 8, 8), torch.ones(4, 4, 3, 3)
    assert backends.conv_backend(x, w) == "Mkldnn"
    with torch.backends.mkldnn.flags(enabled=False):
        assert backends.conv_backend(x, w) == "Slow2d"
        assert backends.conv_backend(torch.ones(16, 4, 8, 8), w) == "NnpackSpatial"


@pytest.mark.parametrize("arguments", [
    dict(input=None, weight=torch.ones(1, 1, 1, 1)),
    dict(input=torch.ones(1, 1, 3, 3), weight=torch.ones(1, 1, 1, 1), padding="Same"),
    dict(input=torch.ones(1, 1, 3, 3), weight=torch.ones(1, 1, 1, 1), stride=1.5),
    dict(input=torch.ones(1, 1, 3, 3), weight=torch.ones(1, 1, 1, 1), groups="two"),
])
def test_a_call_torch_cannot_classify_is_unknown_not_an_error(arguments):
    assert backends.conv_backend(**arguments) == "unknown"


def test_inside_vmap_the_call_is_named_as_transformed():
    seen = []

    def per_sample(x, w):
        seen.append(backends.conv_backend(x[None], w))
        return F.conv2d(x[None], w)[0]
    torch.func.vmap(per_sample)(torch.ones(3, 2, 5, 5), torch.ones(3, 4, 2, 3, 3))
    assert seen == ["functorch"]


def test_observing_passes_calls_through_and_counts_only_those_that_return():
    observed = coverage.observing(F.conv2d)
    assert observed.__wrapped__ is F.conv2d and observed.__name__ == "conv2d"
    python_conv = lambda input, weight, bias=None, padding_mode="zeros": None  # noqa: E731
    assert list(inspect.signature(coverage.observing(python_conv)).parameters) == [
        "input", "weight", "bias", "padding_mode"]  # what tests/test_padding_modes.py reads
    coverage._tally.take()
    x, w = torch.ones(1, 2, 5, 5, dtype=torch.float64), torch.ones(3, 2, 3, 3, dtype=torch.float64)
    assert torch.equal(observed(x, w, None, 1, "same"), F.conv2d(x, w, None, 1, "same"))
    with pytest.raises(RuntimeError):
        observed(x, torch.ones(3, 5, 3, 3, dtype=torch.float64))
    taken = coverage._tally.take()
    assert taken["backends"] == {"Slow2d": {"float64": 1}}


def test_tallies_from_several_workers_add_up_and_survive_xdists_serialisation():
    first, second = coverage.Tally(), coverage.Tally()
    first.count_call("Mkldnn", "float32")
    first.count_executions({("forward_training", "jit:avx512_core"): 3})
    first.info["isa"] = "AVX-512"
    second.count_call("Mkldnn", "float32")
    second.count_call("Slow2d", "float64")
    second.count_executions({("forward_training", "jit:avx512_core"): 1,
                             ("backward_data", "jit_dw:avx512_core"): 2})
    # What a worker puts on its report must go through pytest's JSON report serialisation.
    report = pytest.TestReport("t.py::t", ("t.py", 0, "t"), {}, "passed", None, "call", [])
    report.conv2d_kernels = second.take()
    report = pytest.TestReport._from_json(json.loads(json.dumps(report._to_json())))
    assert not second
    total = coverage.Tally().merge(first.as_dict()).merge(report.conv2d_kernels)
    assert total.backends == {"Mkldnn": {"float32": 2}, "Slow2d": {"float64": 1}}
    assert total.pairs() == {("forward_training", "jit:avx512_core"): 4,
                             ("backward_data", "jit_dw:avx512_core"): 2}
    assert total.info == {"isa": "AVX-512"}


@pytest.mark.skipif(not onednn.OnednnCapture.available(), reason="no oneDNN verbose here")
def test_a_capture_sees_forward_and_backward_and_hands_other_output_on(capfd):
    capture = onednn.OnednnCapture()
    x = torch.ones(2, 4, 6, 6, dtype=torch.bfloat16, requires_grad=True)
    w = torch.ones(4, 4, 3, 3, dtype=torch.bfloat16, requires_grad=True)
    with capture.capturing() as counts:
        F.conv2d(x, w).sum().backward()
        os.write(1, b"C-level output of the test\n")
    capture.close()
    passes = {pass_kind for pass_kind, _ in counts}
    assert passes == {"forward_training", "backward_data", "backward_weights"}
    assert "C-level output of the test" in capfd.readouterr().out


def _config(**options):
    def getoption(name):
        if name in options:
            return options[name]
        raise ValueError(name)
    return types.SimpleNamespace(getoption=getoption)


def test_the_report_compares_the_run_with_the_recorded_network_sweep(tmp_path):
    info = {"version": "v3.12.0 (commit x)", "isa": "Test ISA"}
    key = onednn.machine_key(info)
    sweep = {"key": key, "measured": "2026-01-01", "backends": {},
             "onednn": {"forward_training": {
                 "jit:avx512_core": {"smallest": {"where": "resnet50.conv1", "layer": "L1",
                                                  "batch": 1, "dtype": "float32",
                                                  "layout": "NCHW"}},
                 "brg_conv_fwd:avx512_core": {"smallest": {"where": "seed.loop", "layer": "L2",
                                                           "batch": 2, "dtype": "float32",
                                                           "layout": "NHWC"}}}}}
    path = tmp_path / "network_kernels.json"
    coverage.save_network_kernels(sweep, path)
    plugin = coverage.KernelCoveragePlugin(_config(device="cpu"), network_kernels=path)
    observed = coverage.Tally(info=dict(info))
    observed.count_call("Mkldnn", "float32")
    observed.count_executions({("forward_training", "jit:avx512_core"): 5,
                               ("backward_data", "jit_dw:avx512_core"): 1})
    plugin.pytest_runtest_logreport(types.SimpleNamespace(conv2d_kernels=observed.as_dict()))
    lines = plugin.report_lines()
    text = "\n".join(lines)
    assert "Mkldnn" in text
    assert "CPU backends not reached: NnpackSpatial, Slow2d, SlowDilated2d" in text
    assert "reached 1 of 2: missed" in text
    assert "missed forward_training brg_conv_fwd:avx512_core: e.g. seed.loop (L2)" in text
    assert any("jit_dw:avx512_core" in line and "no network layer reaches it" in line
               for line in lines)
    assert plugin.markdown_lines()[1] == "### Kernel coverage"


def test_without_a_recorded_sweep_the_report_names_the_command(tmp_path):
    plugin = coverage.KernelCoveragePlugin(_config(device="cpu"),
                                           network_kernels=tmp_path / "none.json")
    plugin.totals.count_executions({("forward_training", "jit:avx512_core"): 1})
    if plugin.onednn is None:
        pytest.skip("no oneDNN capture on this machine")
    assert any(coverage.REFRESH_COMMAND in line for line in plugin.report_lines())
