"""The suite on the engines that scale it out, each run for real in subprocesses.

- A shared example database (``--example-db``): a real ``redis-server`` on a
  loopback port; a nightly run against a broken conv2d saves its failure
  there, and a pull-request run (the derandomised, read-only ``ci`` profile)
  on a fresh checkout retries it first.  A GitHub artifact (the pull-request
  path) is read from Hypothesis's artifact cache, which is what it downloads
  into.
- Duration-balanced shards (pytest-split balances them; the suite keeps the
  stored durations): the stored durations cover the run.

Selected with ``-m scale`` (a few minutes of subprocesses; CI runs it as its
own step, ``pytest -n auto --dist loadgroup -m scale``, after installing
redis-server and the redis extra).  Where
``redis-server`` or an optional package is missing, these tests fail under
CI (``CI`` set) and are skipped with the reason elsewhere.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
EXACT = "tests/test_forward_values.py::test_conv2d_is_bitwise_exact_on_integer_data"
RARE_BUG = "tests.meta.test_scale_out:tail_bug_in_wide_three_group_batches"

pytestmark = pytest.mark.scale


def _direct_conv2d(input, weight, bias, stride, padding, dilation, groups):
    """F.conv2d on torch's direct CPU paths (Slow2d, SlowDilated2d), which sum the
    products and so are exact on the exact tier's data: the planted bug below is
    then the only way the implementation breaks the specification.  oneDNN is
    off, so that no search of these tests meets a oneDNN crash
    (tests/known_deviations.toml), and so is NNPACK, which torch picks for float32
    batches of 16 or more once oneDNN is off: it flushes subnormals (a registry
    entry) and its transforms round, so the nightly run's search found
    in16x1x2x1:w1x1x1x1:s1:psame:d1:g1:float32:contiguous:exact:seed0:input(0=1):weight(none,0=1)
    (0.99999994 for 1) instead of the planted bug in 1 of 6 scale steps."""
    with torch.backends.mkldnn.flags(enabled=False), torch.backends.nnpack.flags(enabled=False):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def tail_bug_in_wide_three_group_batches(input, weight, bias=None, stride=1, padding=0,
                                         dilation=1, groups=1):
    """Wrong for 2+ samples, 3 groups, 8+ columns: one added to the last output column
    (a tail accumulator that starts at 1).  1 drawn case in 40 (2.5 % of 2,000 random
    draws of the exact-tier property's cases, with the size regimes)."""
    out = _direct_conv2d(input, weight, bias, stride, padding, dilation, groups)
    if (groups == 3 and input.dim() == 4 and input.shape[0] >= 2 and input.shape[-1] >= 8
            and out.numel() > 0):
        out = out.clone()
        out[..., -1] += 1
    return out


def _needed(what, hint):
    """Fail under CI, where .ci/run installs everything; skip, saying why, elsewhere."""
    message = f"{what} is not available ({hint})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; .ci/run installs it, so CI must have it")
    pytest.skip(message)


def _fresh_checkout(destination):
    """Copy the working tree's files (tracked, and untracked ones git does not
    ignore) to ``destination``: no .hypothesis/, no caches, as a clone has."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def _pytest(checkout, *args, env=None, timeout=600):
    """One pytest process in ``checkout``, without xdist; (exit code, output)."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
               "-q", "-rf", "--tb=line", *args]
    result = subprocess.run(command, cwd=checkout, env={**os.environ, **(env or {})},
                            capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def _gate_run(checkout, *database):
    """The property, as a pull-request run (``ci`` profile) against the broken conv2d:
    (exit code, output)."""
    return _pytest(checkout, EXACT, f"--conv2d-impl={RARE_BUG}", "--hypothesis-profile=ci",
                   "--hypothesis-show-statistics", *database)


def _failed_in_reuse_phase(output):
    """Hypothesis's statistics say the failure came from the database: what counting
    examples until the failure said before the properties had explicit examples, which
    run ahead of the database's (a count of 1 no longer means "replayed first")."""
    reuse = output.split("during reuse phase", 1)
    if len(reuse) < 2:
        return False
    return "Found 1 distinct error in this phase" in reuse[1].split("phase (", 1)[0]


# --- Redis -----------------------------------------------------------------------


def _free_loopback_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis_package():
    try:
        import redis
    except ImportError:
        _needed("the redis package", 'pip install -e ".[redis]"')
    return redis


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A real redis-server of our own on a free loopback port, stopped afterwards."""
    server = shutil.which("redis-server")
    if server is None:
        _needed("redis-server", "Debian: apt-get install -y redis-server")
    redis = _redis_package()
    directory = tmp_path_factory.mktemp("redis")
    for _ in range(3):  # another process may take the port between probe and bind
        port = _free_loopback_port()
        process = subprocess.Popen(
            [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly",
             "no", "--dir", str(directory), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        if process.poll() is None:
            break
    else:
        pytest.fail("redis-server did not start on a loopback port (three tries)")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def nightly(redis_url, tmp_path_factory):
    """One nightly run on its own checkout: randomised, against the broken conv2d,
    writing to the shared Redis database and to a directory (the artifact that
    the workflow uploads).  Returns the checkout."""
    checkout = _fresh_checkout(tmp_path_factory.mktemp("nightly"))
    database = f"--example-db={redis_url},dir:nightly-db"
    code, output = _pytest(checkout, EXACT, f"--conv2d-impl={RARE_BUG}",
                           "--hypothesis-profile=nightly", database)
    assert code == 1 and f"FAILED {EXACT}" in output, output[-3000:]
    return checkout


@pytest.mark.xdist_group("nightly")  # one nightly run (and Redis server) serves both
def test_a_failure_found_nightly_is_retried_first_by_the_next_gate_run(redis_url, nightly,
                                                                       tmp_path):
    import redis
    client = redis.Redis.from_url(redis_url)
    saved = sorted(client.scan_iter("conv2d-conformance:*"))
    assert saved, "the nightly run saved nothing in Redis"

    # The next pull request, on a fresh checkout elsewhere: reads the database only.
    checkout = _fresh_checkout(tmp_path / "pull-request")
    code, output = _gate_run(checkout, f"--example-db={redis_url}")
    assert code == 1 and f"FAILED {EXACT}" in output, output[-3000:]
    assert _failed_in_reuse_phase(output), output[-3000:]
    assert sorted(client.scan_iter("conv2d-conformance:*")) == saved, "a gate run wrote to Redis"


def test_an_unreachable_redis_server_is_a_one_line_usage_error(tmp_path):
    _redis_package()
    code, output = _pytest(ROOT, EXACT, f"--example-db=redis://127.0.0.1:{_free_loopback_port()}/0")
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert code == 4 and len(errors) == 1 and "does not answer" in errors[0], output


# --- GitHub artifact ---------------------------------------------------------------


@pytest.mark.xdist_group("nightly")
def test_a_gate_run_reads_the_nightly_artifact_from_github(nightly, tmp_path):
    """The pull-request path without the network: Hypothesis keeps the artifact it
    downloads in .hypothesis/github-artifacts/NAME/TIMESTAMP.zip for a day; a zip of
    the nightly run's database directory put there is what the download would be."""
    checkout = _fresh_checkout(tmp_path / "pull-request")
    cache = checkout / ".hypothesis" / "github-artifacts" / "hypothesis-example-db"
    cache.mkdir(parents=True)
    stamp = datetime.now(timezone.utc).isoformat().replace(":", "_")
    uploaded = nightly / "nightly-db"
    with zipfile.ZipFile(cache / f"{stamp}.zip", "w") as artifact:
        for path in sorted(uploaded.rglob("*")):
            artifact.write(path, path.relative_to(uploaded).as_posix())
    # Were it to try the network, this proxy (a closed loopback port) would refuse it.
    closed = f"http://127.0.0.1:{_free_loopback_port()}"
    code, output = _pytest(checkout, EXACT, f"--conv2d-impl={RARE_BUG}", "--hypothesis-profile=ci",
                           "--hypothesis-show-statistics",
                           "--example-db=github:example-owner/example-repo",
                           env={"https_proxy": closed, "HTTPS_PROXY": closed})
    assert code == 1 and _failed_in_reuse_phase(output), output[-3000:]


def test_an_unreachable_github_is_a_one_line_usage_error(tmp_path):
    checkout = _fresh_checkout(tmp_path / "checkout")
    closed = f"http://127.0.0.1:{_free_loopback_port()}"
    code, output = _pytest(checkout, EXACT, "--example-db=github:example-owner/example-repo",
                           env={"https_proxy": closed, "HTTPS_PROXY": closed})
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert code == 4 and len(errors) == 1 and "GitHub" in errors[0], output


# --- shards ----------------------------------------------------------------------------

REFRESH = "pytest -n auto --hypothesis-profile=ci --store-durations --clean-durations"


def test_the_stored_durations_cover_the_run():
    """pytest-split balances the workflow's shards by .test_durations and counts a test
    it has no duration for at the mean: a tenth of the run without one is time to
    refresh them.  (That the shards partition the run is pytest-split's own job: the
    suite no longer splits by itself.)"""
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                             "-p", "no:cacheprovider", "-p", "no:xdist"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    ids = [line for line in listed.stdout.splitlines() if "::" in line]
    stored = json.loads((ROOT / ".test_durations").read_text())
    missing = sorted(set(ids) - stored.keys())
    assert len(missing) <= len(ids) // 10, (
        f"{len(missing)} of {len(ids)} tests have no stored duration (e.g. {missing[:3]}); "
        f"refresh .test_durations from the repository root: {REFRESH}")
