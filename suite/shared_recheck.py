"""One recheck of the registry for all the pytest sessions of one campaign.

Every pytest session rechecks the whole registry before any property runs
(suite/recheck.py), in forks of itself.  xdist hands its controller's result
to its workers; a fuzzing campaign (``python -m suite.fuzz``) has no
controller of that kind, yet it starts several sessions in a row with the same
implementation and options: its own collection, HypoFuzz's hub and the worker
it forks (each collects again), and the closing gate run.  In a plain pytest
run the recheck takes under a second, but in HypoFuzz's processes it is most
of their start: 16 to 18 s from HypoFuzz's start to its first input when each
rechecks, 7 to 8 s when they read the campaign's recheck (campaigns taken in
turn, load average 3 to 5 on 2 cores, bench/fuzz_time.py).

``--conv2d-registry-status=FILE`` shares one recheck between them: the first
session that names FILE rechecks and writes it; the later ones read it.  The
file says what the recheck was made with (torch, the recheck options, the
registry file's digest); a session whose own differ refuses it with a one-line
usage error rather than guard calls with statuses that are not its own.
Without the option every session rechecks, as before.
"""

import hashlib
import json
import os
from pathlib import Path

import torch

from suite import registry

FORMAT = 1


def add_options(group):
    group.addoption("--conv2d-registry-status", default=None, metavar="FILE.json",
                    help="share one recheck of the registry between the sessions of one run "
                         "(python -m suite.fuzz passes it to HypoFuzz): the first session that "
                         "names FILE rechecks and writes it, the later ones read it (default: "
                         "every session rechecks)")


def identity(options, registry_file=registry.KNOWN_DEVIATIONS):
    """What a recheck's statuses depend on: torch, the recheck options (implementation,
    device, threads, flags, oneDNN state) and the registry's text."""
    return {"format": FORMAT, "torch": torch.__version__, "options": list(options),
            "registry": hashlib.sha256(Path(registry_file).read_bytes()).hexdigest()}


def statuses(path, rechecker, entries, registry_file=registry.KNOWN_DEVIATIONS):
    """({id: status}, {id: detail}): read from ``path`` if it holds a recheck made with
    this session's identity, else from ``rechecker.all(entries)``, then written there.
    A file with another identity, or one that is not a saved recheck, is a
    ``RegistryError``."""
    path = Path(path)
    mine = identity(rechecker.options, registry_file)
    if path.exists():
        try:
            saved = json.loads(path.read_text())
            status, details, theirs = saved["status"], saved["details"], saved["identity"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise registry.RegistryError(
                f"--conv2d-registry-status={path}: not a saved recheck ({error})") from None
        if theirs != mine:
            differ = sorted(key for key in mine.keys() | theirs.keys()
                            if mine.get(key) != theirs.get(key))
            raise registry.RegistryError(
                f"--conv2d-registry-status={path}: rechecked with another {', '.join(differ)} "
                f"than this session's; remove the file to recheck")
        if set(status) != {entry.id for entry in entries}:
            raise registry.RegistryError(
                f"--conv2d-registry-status={path}: its entries are not the registry's")
        return status, details
    status, details = rechecker.all(entries)
    # Written whole, then renamed: a session starting meanwhile reads all or nothing.
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps({"identity": mine, "status": status, "details": details},
                                  indent=1, sort_keys=True))
    os.replace(partial, path)
    return status, details
