"""The harness: how pytest, Hypothesis and the implementation under test meet."""
