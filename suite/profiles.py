"""Hypothesis profiles: how hard the suite searches, and how reproducibly.

- ``dev``: the default on a workstation; randomised, remembers failures in the
  local example database so a re-run tries them first.
- ``ci``: the upgrade gate, built on Hypothesis's own ``ci`` profile
  (derandomised, no deadline, print_blob, no database), so the same commit
  always runs the same examples.  Loaded by default when CI is detected.
- ``nightly``: a long randomised search with the example database, for
  scheduled runs that hunt for rare failures.
- ``selfcheck``: used by tests/test_self_check.py to run properties against
  broken implementations: derandomised, no shrinking.
- ``compile``: ``ci`` with 10 examples and no shrinking, for the compile
  presets (implementations/presets.py), where an example costs a graph
  compile (seconds) instead of a convolution (milliseconds): the README's
  compile command runs a file subset with it in minutes.  Shrinking compiles
  a graph per step, up to Hypothesis's 5 minutes per failing property
  (measured: 364 s and 307 s for two of the argument-error properties), so a
  failure is reported as drawn, with its Replay line; rerun that property
  with ``--hypothesis-profile=ci`` to shrink it.

No profile has a deadline: the first call into a backend (oneDNN primitive
creation, a CUDA context, torch.compile) can take seconds, which is not a bug.
"""

from hypothesis import Phase, settings

EXAMPLES = {"dev": 60, "ci": 60, "nightly": 2000, "selfcheck": 200, "compile": 10}
PROFILES = tuple(EXAMPLES)


def register_profiles():
    """Register the suite's profiles; call before Hypothesis's plugin reads the option."""
    # dev and nightly build on Hypothesis's "default" profile, not on whichever
    # is current: where CI is detected that is "ci" (derandomised, no
    # database), and a nightly job would then neither search nor remember.
    default = settings.get_profile("default")
    settings.register_profile("dev", parent=default, max_examples=EXAMPLES["dev"], deadline=None)
    settings.register_profile("ci", parent=settings.get_profile("ci"), max_examples=EXAMPLES["ci"])
    settings.register_profile("nightly", parent=default, max_examples=EXAMPLES["nightly"],
                              deadline=None)
    # The self-check only needs to know that a property fails, not the
    # smallest example: no shrinking, deterministic, no database.
    settings.register_profile("selfcheck", parent=settings.get_profile("ci"),
                              max_examples=EXAMPLES["selfcheck"],
                              phases=[Phase.explicit, Phase.generate, Phase.target])
    settings.register_profile("compile", parent=settings.get_profile("ci"),
                              max_examples=EXAMPLES["compile"],
                              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])


def default_profile():
    """``ci`` where Hypothesis detected CI (it loads its own ``ci`` then), else ``dev``."""
    return "ci" if settings.get_current_profile_name() == "ci" else "dev"
