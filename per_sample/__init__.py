"""Per-sample weights: ``out[i] = conv2d(input[i], weight[i], bias[i])``.

The project's founding question (DESIGN.md section 5): which ways of computing
a convolution with a separate weight per batch sample are the same function,
and what the two common misreadings really compute.

- ``case``: ``PerSampleCase``, one such problem as a replayable value;
- ``formulations``: the ways to compute it, and the misreadings, each taking
  the conv2d under test first;
- ``reference``: the answer, ``reference.conv2d`` applied sample by sample;
- ``gradients``: per-sample gradients by backpropagation and by vmap(grad);
- ``verdict``: judging a result against the reference, by tier.
"""
