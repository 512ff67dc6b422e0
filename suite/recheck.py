"""Rechecking the registry: does this torch (this implementation) still do it?

A deviation is present when its recheck call, run and judged without the
registry, breaks the specification in the recorded way (its condition holds
and its behaviour describes what the call did).  A crash is present when its
recheck call (as far as the entry's ``recheck_pass``: the call, its backward,
its double backward) kills the process that makes it.

A run rechecks every entry before any property runs, in forks of the
controlling pytest process (which has imported torch but made no call: every
fork starts from the same clean state, without a thread pool or a device
context), one for each crash and one for each group of deviations that share
their options; where a group's fork dies, each of its deviations is rechecked
in a fork of its own.  So an implementation that crashes on a recheck call
cannot take the run down with it, and the rechecks cost milliseconds, not a
fresh interpreter that imports torch (seconds) each.

A lazy recheck (replay, drift: after calls of their own) runs
``python -m suite.recheck ID... --conv2d-impl=SPEC ...``, which rechecks the
named entries the same way from a fresh process and prints
``{id: [status, detail]}`` as JSON.
"""

import faulthandler
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import pytest
import torch

from case import parse
from case import domain
from strategies.sizes import multiply_adds
from suite import options as run_options
from suite import registry
from suite.judge import autograd_finding, facts_of, judge
from suite.run import child_environment, differentiate, run

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600  # seconds: a child that imports torch and makes a few calls (lazy rechecks)
# How long a fork may take before its recheck counts as a hang: every fork of a run
# starts at once and has a deadline of its own, so a hang costs one limit per round of
# forks (at most two: a dead group's deviations are rechecked one per fork), never
# one per entry or per group.  Measured (torch 2.13.0, 2 cores at load 11): the
# slowest recheck fork took 3.1 s (a double backward's first oneDNN primitives); a
# deviation group of 25 entries takes a few seconds.  A limit is this base, a second
# per call the fork makes, and a microsecond per multiply-add of its calls: loose on
# purpose (torch's slowest CPU paths, float16 and bfloat16 with oneDNN off, forward
# and backward of a 32-channel 3x3 call on one thread: 1.4 ns per multiply-add,
# EPYC-2, torch 2.13.0, 2026-12-08), so only a hang reaches it.
HANG_BASE_S, HANG_PER_CALL_S, HANG_PER_MULTIPLY_ADD_S = 15.0, 1.0, 1e-6


def hang_limit(entries):
    """Seconds a fork that rechecks ``entries`` may take before it counts as hung."""
    cases = [parse(entry.recheck) for entry in entries]
    work = sum(multiply_adds(case) for case in cases if case.rule() is None)
    return HANG_BASE_S + HANG_PER_CALL_S * len(entries) + HANG_PER_MULTIPLY_ADD_S * work


class CannotRecheck(Exception):
    """A recheck that could not run: never read as 'fixed', which would lift guards."""


def rechecked_on_torch(entry):
    """Whether the entry is rechecked on torch's own F.conv2d: a bug of torch is torch's
    whatever implementation is under test (one inherits it on the calls it hands to
    torch: suite/torch_calls.py), unless the entry records the behaviour of particular
    implementations (torch.compile's)."""
    return entry.source == "torch" and not entry.implementation


def outside_the_domain(entry, claimed=None):
    """Whether the entry's recheck call is the kernel's to make but lies outside the
    declared domain ``claimed`` (default: the one in force), so it is not rechecked."""
    claimed = domain.active() if claimed is None else claimed
    case = parse(entry.recheck)
    return not rechecked_on_torch(entry) and case.rule() is None and not claimed.admits(case)


# The options that say what a kernel under test declares: not torch's when torch is rechecked.
_DECLARED = ("--conv2d-impl=", "--conv2d-error-model=", "--conv2d-domain=",
             "--conv2d-deviations=")


def options_for(entry, options):
    """The recheck's options: the run's ``options`` (``--name=value`` strings), in the
    entry's own oneDNN state, on torch's own conv2d where the entry is rechecked there."""
    options = list(options)
    if entry.recheck_onednn:
        options = [option for option in options if not option.startswith("--onednn=")]
        options.append(f"--onednn={entry.recheck_onednn}")
    if rechecked_on_torch(entry):
        options = [option for option in options if not option.startswith(_DECLARED)]
        options += [f"--conv2d-impl={registry.TORCH_CONV2D}", "--conv2d-error-model=direct"]
    return tuple(options)


class Rechecker:
    """Rechecks entries against one implementation: ``options`` are the run's
    (name, value) pairs (conv2d_impl, device, torch_threads and the backend flags)."""

    def __init__(self, options):
        self.options = run_options.arguments(options)
        self.options.append(f"--onednn={'on' if torch.backends.mkldnn.enabled else 'off'}")

    def __call__(self, entry):
        """(status, detail) of one entry, from a fresh child process: a lazy recheck
        (replay, drift) comes after this process's own calls, so it is not forked."""
        status, details = self._split(self._outside([entry]) or self._child([entry]))
        return status[entry.id], details[entry.id]

    def all(self, entries):
        """({id: status}, {id: detail}) for every entry, from forks of this process:
        call it before this process makes any call (pytest's configure does)."""
        found = self._outside(entries)
        try:
            found.update(recheck_forked([entry for entry in entries if entry.id not in found],
                                        self.options))
        except CannotRecheck as error:
            raise registry.RegistryError(f"cannot recheck the registry ({error})") from None
        return self._split(found)

    @staticmethod
    def _outside(entries):
        return {entry.id: (registry.OUTSIDE, "its recheck call is not the kernel's")
                for entry in entries if outside_the_domain(entry)}

    @staticmethod
    def _split(found):
        return ({entry_id: status for entry_id, (status, _) in found.items()},
                {entry_id: detail for entry_id, (_, detail) in found.items()})

    def _child(self, entries):
        child = subprocess.run([sys.executable, "-m", "suite.recheck",
                                *[entry.id for entry in entries], *self.options],
                               cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
        if child.returncode != 0:
            last = (child.stderr.strip().splitlines() or ["no output"])[-1]
            raise registry.RegistryError(f"cannot recheck the registry (exit "
                                         f"{child.returncode}: {last[:300]})")
        return json.loads(child.stdout.strip().splitlines()[-1])


class Fork:
    """``work()`` in a forked copy of this process, its stdout and stderr kept in files;
    ``limit``: seconds from its start after which it is killed as hung."""

    def __init__(self, work, limit=TIMEOUT):
        self.deadline, self.limit, self.hung = time.monotonic() + limit, limit, False
        self.stdout, self.stderr = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:  # the copy: never returns
            os.dup2(self.stdout.fileno(), 1)
            os.dup2(self.stderr.fileno(), 2)
            sys.stdout, sys.stderr = open(1, "w", closefd=False), open(2, "w", closefd=False)
            if faulthandler.is_enabled():  # pytest's: it writes to pytest's own terminal
                faulthandler.enable(sys.stderr)
            code = 1
            try:
                code = work()
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code if isinstance(code, int) else 1)

    def wait(self):
        """(return code: negative for a signal, stdout, stderr); past the deadline the
        fork is killed and ``hung``."""
        while (done := os.waitpid(self.pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > self.deadline:
                self.hung = True
                os.kill(self.pid, signal.SIGKILL)
                done = os.waitpid(self.pid, 0)
                break
            time.sleep(0.02)
        code = os.waitstatus_to_exitcode(done[1])
        texts = []
        for stream in (self.stdout, self.stderr):
            stream.seek(0)
            texts.append(stream.read())
            stream.close()
        return code, *texts


def _cannot(what, code, stderr):
    last = (stderr.strip().splitlines() or ["no output"])[-1]
    return CannotRecheck(f"{what}: exit {code}: {last[:300]}")


def _crash_fork(entry, options):
    from suite import run as calls
    return Fork(lambda: calls.main([entry.recheck, f"--through={entry.recheck_pass}", *options]),
                hang_limit([entry]))


def _crash_result(entry, fork):
    code, _, stderr = fork.wait()
    if fork.hung:
        return registry.PRESENT, (f"did not return within {fork.limit:.0f} s in a child "
                                  f"process (a hang)")
    if code < 0:
        return registry.PRESENT, f"killed its child process with {signal.Signals(-code).name}"
    if code == 0:
        return registry.FIXED, "returned in a child process"
    raise _cannot(entry.id, code, stderr)


def _deviations_fork(entries, options):
    def work():
        args, setup = child_environment("python -m suite.recheck", options, "ids")
        conv2d, model = setup.conv2d, setup.model
        print(json.dumps({entry.id: recheck_here(entry, conv2d, args.device, model)
                          for entry in entries}))
        return 0
    return Fork(work, hang_limit(entries))


def _deviations_result(entries, options, fork):
    """{id: [status, detail]}; where a recheck kills or hangs the fork, one fork per
    deviation, all at once."""
    code, stdout, stderr = fork.wait()
    if code == 0 and not fork.hung:
        return json.loads(stdout.strip().splitlines()[-1])
    if code > 0:
        raise _cannot(" ".join(entry.id for entry in entries), code, stderr)
    if len(entries) == 1:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        ended = (f"did not return within {fork.limit:.0f} s" if fork.hung
                 else f"killed the child process ({last[:200]})")
        return {entries[0].id: (registry.FIXED, f"its recheck {ended}")}
    forks = [([entry], _deviations_fork([entry], options)) for entry in entries]
    found = {}
    for alone, its_fork in forks:
        found.update(_deviations_result(alone, options, its_fork))
    return found


def recheck_forked(entries, options):
    """{id: (status, detail)}: each crash, and each group of deviations that share
    their options, rechecked side by side in a fork of this process."""
    found = {}
    groups = {}
    for entry in entries:
        if entry.kind in registry.EXPLAINING:
            groups.setdefault(options_for(entry, options), []).append(entry)
    crashes = [(entry, _crash_fork(entry, options_for(entry, options)))
               for entry in entries if entry.kind == "crash"]
    forks = [(group, group_options, _deviations_fork(group, group_options))
             for group_options, group in groups.items()]
    for group, group_options, fork in forks:
        found.update(_deviations_result(group, group_options, fork))
    found.update({entry.id: _crash_result(entry, fork) for entry, fork in crashes})
    return found


def recheck_here(entry, conv2d, device, model):
    """(status, detail) of a deviation, rechecked in this process: present if any of
    its ``recheck_times`` calls shows it (a behaviour that varies from call to call,
    such as uninitialised memory, may be absent from the first)."""
    for _ in range(entry.recheck_times - 1):
        status, detail = _recheck_once(entry, conv2d, device, model)
        if status == registry.PRESENT:
            return status, detail
    return _recheck_once(entry, conv2d, device, model)


def _recheck_once(entry, conv2d, device, model):
    """(status, detail) of one recheck call (through its ``recheck_pass``: a conforming
    call is then differentiated, and a pass that raises is the finding)."""
    case = parse(entry.recheck)
    arrays = case.arrays()
    differentiating = entry.recheck_pass != "forward"
    tensors = case.tensors(arrays, device=device, requires_grad=differentiating)
    outcome = run(conv2d, case, tensors, guard=False)
    finding = judge(case, outcome, model=model, arrays=arrays, tensors=tensors, explain=False)
    if differentiating and not finding.problems:
        try:
            differentiate(outcome.output, [t for t in tensors if t is not None],
                          double=entry.recheck_pass == "double_backward")
        except Exception as error:  # noqa: BLE001 - what the pass raised is the observation
            finding = autograd_finding(case, entry.recheck_pass.replace("_", " "), error,
                                       outcome.environment)
    facts = facts_of(finding)
    if finding.problems and entry.condition_holds(facts) and entry.shows_behaviour(facts):
        return registry.PRESENT, "shows the behaviour"
    return registry.FIXED, ("conforms" if not finding.problems else
                            "breaks the specification otherwise: " + finding.verdict())


class RegistryPlugin:
    """pytest plugin: recheck every entry once, in the controlling process, before
    any property runs, and hand the result to every xdist worker."""

    def __init__(self, config, options, deviations=None):
        entries = registry.load_all(deviations)
        rechecker = Rechecker(options)
        self.registry = registry.activate(registry.Registry(entries, recheck=rechecker))
        if hasattr(config, "workerinput"):
            found = config.workerinput["conv2d_registry"]
            self.registry.set_status(found["status"], found["details"])
        else:
            self.registry.set_status(*rechecker.all(entries))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        node.workerinput["conv2d_registry"] = {"status": self.registry.status,
                                               "details": self.registry.details}


def main(argv=None):
    """Recheck the named entries (forks of this process) with the run's options."""
    argv = sys.argv[1:] if argv is None else argv
    ids = [arg for arg in argv if not arg.startswith("--")]
    options = [arg for arg in argv if arg.startswith("--")]
    _, setup = child_environment("python -m suite.recheck", options, "ids")
    entries = {entry.id: entry for entry in registry.load_all(setup.deviations)}
    try:
        found = recheck_forked([entries[entry_id] for entry_id in ids], options)
    except CannotRecheck as error:
        print(f"python -m suite.recheck: {error}", file=sys.stderr)
        return 1
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
