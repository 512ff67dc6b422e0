"""One recheck of the registry for several pytest sessions of one run.

Every pytest session rechecks the whole registry before any property runs
(suite/recheck.py), in forks of itself.  xdist hands its controller's result
to its workers; sessions started one after another by a script (each
collecting again, with the same implementation and options) have no such
controller, and in a short session the recheck can be most of its start.

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
                    help="share one recheck of the registry between the sessions of one run: "
                         "the first session that names FILE rechecks and writes it, the later "
                         "ones read it (default: every session rechecks)")


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
