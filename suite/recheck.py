"""Rechecking the registry: does this torch (this implementation) still do it?

A deviation is present when its recheck call, run and judged without the
registry, breaks the specification in the recorded way (its condition holds
and its behaviour describes what the call did).  A crash is present when its
recheck call, made in a child process (``python -m suite.run``, as far
as the entry's ``recheck_pass``: the call, its backward, its double
backward), kills that process.  A run rechecks every entry in child processes, side by side (one
for all deviations, one per crash), so an implementation that crashes on a
recheck call cannot take the test run down with it; where the deviations'
child dies, each deviation is rechecked in a child of its own.

``python -m suite.recheck ID... --conv2d-impl=SPEC ...`` rechecks deviations
in this process and prints ``{id: [status, detail]}`` as JSON.
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from case import parse
from strategies import domain
from suite import registry
from suite.judge import facts_of, judge
from suite.run import child_environment, run

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600  # seconds: a child that imports torch and makes a few calls


def _signal_name(returncode):
    return signal.Signals(-returncode).name if returncode < 0 else f"exit {returncode}"


def _cannot_recheck(child, stderr):
    """A recheck child that could not run: never read as 'fixed', which would lift guards."""
    last = (stderr.strip().splitlines() or ["no output"])[-1]
    return registry.RegistryError(f"cannot recheck the registry ({' '.join(child.args[2:4])}: "
                                  f"exit {child.returncode}: {last[:300]})")


def outside_the_domain(entry, claimed=None):
    """Whether the entry's recheck call is the kernel's to make but lies outside the
    declared domain ``claimed`` (default: the one in force), so it is not rechecked."""
    claimed = domain.active() if claimed is None else claimed
    case = parse(entry.recheck)
    return not entry.recheck_with and case.rule() is None and not claimed.admits(case)


class Rechecker:
    """Rechecks entries against one implementation: ``options`` are the run's
    (name, value) pairs (conv2d_impl, device, torch_threads and the backend flags)."""

    def __init__(self, options):
        self.options = dict(options)
        self.child_options = [f"--{name.replace('_', '-')}={value}" for name, value in options
                              if value is not None]
        self.child_options.append(f"--onednn={'on' if torch.backends.mkldnn.enabled else 'off'}")

    def _options(self, entry):
        """The child's options: the run's, in the entry's own oneDNN state and with its
        own implementation where it names them."""
        options = list(self.child_options)
        if entry.recheck_onednn:
            options = [option for option in options if not option.startswith("--onednn=")]
            options.append(f"--onednn={entry.recheck_onednn}")
        if entry.recheck_with == "torch":
            options = [option for option in options if not option.startswith("--conv2d-impl=")]
            options += [f"--conv2d-impl={registry.TORCH_CONV2D}", "--conv2d-error-model=direct"]
        return tuple(options)

    def _crash_child(self, entry):
        return subprocess.Popen([sys.executable, "-m", "suite.run", entry.recheck,
                                 f"--through={entry.recheck_pass}", *self._options(entry)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)

    def _deviations_child(self, entries):
        """One child for ``entries``, which share their recheck options."""
        return subprocess.Popen([sys.executable, "-m", "suite.recheck",
                                 *[entry.id for entry in entries], *self._options(entries[0])],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    @staticmethod
    def _crash_result(child):
        _, stderr = child.communicate(timeout=TIMEOUT)
        if child.returncode < 0:
            return registry.PRESENT, f"killed its child process with {_signal_name(child.returncode)}"
        if child.returncode == 0:
            return registry.FIXED, "returned in a child process"
        raise _cannot_recheck(child, stderr)

    @staticmethod
    def _deviations_result(child, entries):
        """The child's {id: [status, detail]}, or None if a recheck killed it."""
        stdout, stderr = child.communicate(timeout=TIMEOUT)
        if child.returncode < 0:
            return None, stderr
        if child.returncode != 0:
            raise _cannot_recheck(child, stderr)
        return json.loads(stdout.strip().splitlines()[-1]), stderr

    def __call__(self, entry):
        """(status, detail) of one entry, in a child process."""
        if outside_the_domain(entry):
            return registry.OUTSIDE, "its recheck call is not the kernel's"
        if entry.kind == "crash":
            return self._crash_result(self._crash_child(entry))
        found, stderr = self._deviations_result(self._deviations_child([entry]), [entry])
        if found is None:
            last = (stderr.strip().splitlines() or ["no output"])[-1]
            return registry.FIXED, f"its recheck killed the child process ({last[:200]})"
        return tuple(found[entry.id])

    def all(self, entries):
        """({id: status}, {id: detail}) for every entry."""
        outside = {entry.id: (registry.OUTSIDE, "its recheck call is not the kernel's")
                   for entry in entries if outside_the_domain(entry)}
        entries = [entry for entry in entries if entry.id not in outside]
        groups = {}  # deviations by the options of their recheck: one child per group
        for entry in entries:
            if entry.kind in registry.EXPLAINING:
                groups.setdefault(self._options(entry), []).append(entry)
        crashes = {entry.id: self._crash_child(entry) for entry in entries if entry.kind == "crash"}
        children = [(group, self._deviations_child(group)) for group in groups.values()]
        found = dict(outside)
        for group, child in children:
            result, _ = self._deviations_result(child, group)
            if result is None:  # a recheck killed the child: one child per deviation
                result = {entry.id: self(entry) for entry in group}
            found.update(result)
        found.update({entry_id: self._crash_result(child) for entry_id, child in crashes.items()})
        return ({entry_id: status for entry_id, (status, _) in found.items()},
                {entry_id: detail for entry_id, (_, detail) in found.items()})


def recheck_here(entry, conv2d, device, model):
    """(status, detail) of a deviation, rechecked in this process."""
    case = parse(entry.recheck)
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    finding = judge(case, run(conv2d, case, tensors, guard=False), model=model, arrays=arrays,
                    tensors=tensors, explain=False)
    facts = facts_of(finding)
    if finding.problems and entry.condition_holds(facts) and entry.shows_behaviour(facts):
        return registry.PRESENT, "shows the behaviour"
    return registry.FIXED, ("conforms" if not finding.problems else
                            "breaks the specification otherwise: " + finding.verdict())


class RegistryPlugin:
    """pytest plugin: recheck every entry once, in the controlling process, before
    any property runs, and hand the result to every xdist worker."""

    def __init__(self, config, options):
        entries = registry.load()
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
    args, conv2d, model = child_environment("python -m suite.recheck", argv, "ids")
    entries = {entry.id: entry for entry in registry.load()}
    print(json.dumps({entry_id: recheck_here(entries[entry_id], conv2d, args.device, model)
                      for entry_id in args.ids}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
