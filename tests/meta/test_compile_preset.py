"""The ``compile`` presets compile every call they can, each for the call alone.

A run's call X may be served by a graph dynamo compiled for an earlier call
Y whose guards X passes; ``python -m suite.replay`` of X compiles for X
alone.  implementations/compiled.py turns duck sizing off so that the two
are the same graph.  Checked on dynamo's output (the FX graph and its
guards) with a recording backend, so no inductor build: about a second.
The same check with duck sizing on shows the difference it guards against.

A call dynamo cannot trace (under ``torch.func.jvp``) runs eagerly and, left
alone, makes dynamo skip F.conv2d's frame for the rest of the process;
``Compiled`` resets dynamo after it, so the next call compiles again.
"""

import re
import warnings

import pytest
import torch
import torch.nn.functional as F

from implementations import compiled

# The presets' settings exist in recent torch only (implementations/compiled.py).
pytestmark = pytest.mark.skipif(compiled.unavailable() is not None,
                                reason=str(compiled.unavailable()))

# Y: 2x3x9x8 input; X: 3x3x7x7, same weight.  X passes Y's guards; alone, duck
# sizing would merge X's equal sizes (N = C = kh = 3, H = W = 7) into shared symbols.
Y = ((2, 3, 9, 8), (4, 3, 3, 3))
X = ((3, 3, 7, 7), (4, 3, 3, 3))


def _graphs(calls):
    """Each graph dynamo compiles for ``calls`` in a fresh cache: its code and guards,
    symbols renamed in order of appearance (their numbers vary between compiles)."""
    from torch._guards import TracingContext
    recorded = []

    def record(graph_module, example_inputs):
        guards = [str(guard.expr) for guard in TracingContext.get().fake_mode.shape_env.guards]
        names = {}
        text = repr((graph_module.code, guards))
        recorded.append(re.sub(r"\bs\d+\b",
                               lambda m: names.setdefault(m.group(0), f"S{len(names)}"), text))
        return graph_module.forward

    torch._dynamo.reset()
    conv2d = torch.compile(F.conv2d, dynamic=True, backend=record)
    for input_shape, weight_shape in calls:
        conv2d(torch.ones(input_shape), torch.ones(weight_shape), None, 1, 1, 1, 1)
    torch._dynamo.reset()
    return recorded


@pytest.mark.parametrize("duck_shape", [False, True], ids=["preset", "duck-sizing"])
def test_a_replayed_call_compiles_the_graph_its_run_used(duck_shape):
    with compiled.settings(duck_shape=duck_shape):
        run, alone = _graphs([Y, X]), _graphs([X])
    assert len(run) == 1, f"X should reuse Y's graph, but the run compiled {len(run)}"
    same = alone == run
    assert same != duck_shape, (
        f"with duck sizing {'on' if duck_shape else 'off (the preset)'} a replay of X alone "
        f"should compile {'another graph than' if duck_shape else 'the graph'} the run used "
        f"for it, but it compiled {'the same' if same else 'another'}:\nrun:   {run[0]}\n"
        f"alone: {alone[0]}")


def test_a_call_that_falls_back_to_eager_leaves_the_next_calls_compiled():
    from torch._dynamo.utils import counters
    conv2d = compiled.Compiled(dynamic=False, backend="eager")
    weight = torch.ones(1, 1, 1, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", compiled.CompileFallback)
        _, tangent = torch.func.jvp(lambda x: conv2d(x, weight), (torch.ones(1, 1, 3, 3),),
                                    (torch.ones(1, 1, 3, 3),))
    fallbacks = [str(w.message) for w in caught if issubclass(w.category, compiled.CompileFallback)]
    assert fallbacks and torch.equal(tangent, torch.ones(1, 1, 3, 3)), (
        f"a conv2d under torch.func.jvp should run eagerly, with a CompileFallback warning and "
        f"its tangent, but warned {fallbacks} and gave {tangent}")
    before = counters["stats"]["unique_graphs"]
    conv2d(torch.ones(1, 1, 4, 4), weight)
    assert counters["stats"]["unique_graphs"] == before + 1, (
        "after the eager fallback a call with a new shape should compile a graph, but dynamo "
        "still skips F.conv2d's frame")
    torch._dynamo.reset()
