"""The suite checks itself: it fails every broken conv2d and passes every correct one.

Each broken implementation (implementations/broken/) names, by stable id
(suite/properties.py), the conformance properties that must catch it; each is
run in a fresh pytest with ``--conv2d-impl`` pointing at it and the
derandomised ``selfcheck`` profile, and every property it names must fail.
The correct alternatives (implementations/correct.py) must pass every
conformance property.  Those runs are selected with ``-m selfcheck`` (a
subprocess each is too slow for the default run; CI runs them after it).

With ``CONV2D_SELFCHECK_OUTCOMES=DIR`` the broken implementations' outcomes are
kept in DIR, one JSON file each, for ``python -m bench.self_check_table DIR``.

The meta run checks the bookkeeping: every conformance property is named
by some broken implementation (a property no bug can fail is a defect), and
every id a broken implementation names exists.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from implementations.broken import all_broken
from suite.properties import declared_ids

ROOT = Path(__file__).resolve().parents[2]
# Where each broken implementation's outcomes are kept ({property id: outcome}, one file
# per implementation): python -m bench.self_check_table DIR reads them as a table.
OUTCOMES = "CONV2D_SELFCHECK_OUTCOMES"
CORRECT = ["correct:without_mkldnn", "correct:accumulating_in_float64", "correct:im2col_matmul",
           # a NumPy kernel with a framework's contract (its domain: values only)
           "frameworks.numpy_im2col:conv2d"]
# Correct fast algorithms: they pass under the transform error model and must
# fail under the direct one, which no Winograd or FFT kernel can satisfy.
TRANSFORM_KERNELS = ["transform:winograd_f2x3", "transform:winograd_f4x3", "transform:fft_conv2d"]
TRANSFORM = ("--conv2d-error-model=transform",)


def test_every_conformance_property_is_named_by_a_broken_implementation():
    named = {entry.split("[", 1)[0] for broken in all_broken() for entry in broken.caught_by}
    unnamed = sorted(set(declared_ids()) - named)
    assert not unnamed, (
        f"conformance properties {unnamed} are named by no broken implementation, but each "
        f"should be: a property no bug can fail is a defect [implementations/broken/]")


def test_every_property_a_broken_implementation_names_exists():
    ids = declared_ids()
    unknown = sorted({(broken.spec, entry) for broken in all_broken()
                      for entry in broken.caught_by if entry.split("[", 1)[0] not in ids})
    assert not unknown, f"{unknown}: no conformance property has these ids [suite/properties.py]"


def run_suite(spec, properties, profile, outcomes, under_xdist=False, options=()):
    """pytest on the conformance properties ``properties`` (all if None) against ``spec``
    with ``options``; (exit code, output); the outcomes per property id land in
    ``outcomes``."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header",
               "-rf", "--tb=line", f"--conv2d-impl={spec}", f"--hypothesis-profile={profile}",
               f"--conv2d-outcomes={outcomes}", *options, "--ignore=tests/meta", "tests"]
    command += ["-n", "1"] if under_xdist else ["-p", "no:xdist"]
    if properties is not None:
        command.append(f"--conv2d-properties={','.join(properties)}")
    result = subprocess.run(command, cwd=ROOT, env=dict(os.environ), capture_output=True,
                            text=True, timeout=1800)
    return result.returncode, result.stdout + result.stderr


def _with_family_samples(implementations):
    """Each implementation as a parameter; the first of each family module also marked
    ``selfcheck_sample``: what CI runs of the whole self-check (which takes tens of
    minutes on two cores), one bug of every kind."""
    seen, params = set(), []
    for implementation in implementations:
        family = implementation.spec.rsplit(":", 1)[0]
        marks = () if family in seen else (pytest.mark.selfcheck_sample,)
        seen.add(family)
        params.append(pytest.param(implementation, marks=marks, id=implementation.name))
    return params


@pytest.mark.selfcheck
@pytest.mark.parametrize("implementation", _with_family_samples(all_broken()))
def test_the_suite_fails_a_broken_conv2d(implementation, tmp_path):
    kept = os.environ.get(OUTCOMES)
    folder = Path(kept).resolve() if kept else tmp_path
    path = folder / implementation.outcomes_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    code, output = run_suite(implementation.spec, implementation.caught_by, "selfcheck", path,
                             under_xdist=implementation.kills_the_process,
                             options=implementation.options)
    outcomes = json.loads(path.read_text()) if path.exists() else {}
    missed = implementation.missed(outcomes)
    assert code == 1 and not missed, (
        f"{implementation.spec} ({implementation.bug}): pytest exit code {code}, expected 1; "
        f"properties that should have failed but did not: {missed} (outcomes {outcomes})"
        f"\n{output[-4000:]}")


@pytest.mark.selfcheck
@pytest.mark.parametrize("name, options", [(name, ()) for name in CORRECT]
                         + [(name, TRANSFORM) for name in TRANSFORM_KERNELS])
def test_the_suite_passes_a_correct_conv2d_on_every_property(name, options, tmp_path):
    code, output = run_suite(f"implementations.{name}", None, "ci", tmp_path / "outcomes.json",
                             options=options)
    assert code == 0, (
        f"implementations.{name} {' '.join(options)} is correct but the suite failed it "
        f"(exit code {code}, expected 0)\n{output[-4000:]}")


@pytest.mark.selfcheck
@pytest.mark.parametrize("name", TRANSFORM_KERNELS)
def test_the_direct_error_model_rejects_a_fast_algorithm(name, tmp_path):
    path = tmp_path / "outcomes.json"
    code, output = run_suite(f"implementations.{name}", ["forward.exact", "forward.float"],
                             "ci", path)
    outcomes = json.loads(path.read_text()) if path.exists() else {}
    assert code == 1 and "failed" in outcomes.values(), (
        f"implementations.{name} is not a sum of its products, so the direct model must reject "
        f"it, but pytest exit code {code}, outcomes {outcomes}\n{output[-4000:]}")
