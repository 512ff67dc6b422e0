"""``conv2d-conformance``: the suite, run from your own project against your kernel.

    pip install -e PATH/TO/conv2d-conformance[torch]   # into your own environment
    cd your/project
    conv2d-conformance -n auto --conv2d-impl=yourpackage.module:conv2d

It runs the suite's pytest (its properties, plugins and settings, from the
checkout it was installed from) with your working directory first on the
import path, so ``--conv2d-impl`` finds your module where you stand, and
relative paths you pass (``--conv2d-domain``, ``--conv2d-summary``) are yours.
Every argument is pytest's and the suite's (``conv2d-conformance --help``); a
file of the suite (``tests/test_forward_values.py``) may be named relative to
the suite.  Nothing is copied into the suite's tree.
"""

import os
import subprocess
import sys
from pathlib import Path

SUITE = Path(__file__).resolve().parent


def _arguments(arguments, here):
    """The pytest arguments: the user's, with the suite's files named where they are,
    and the suite's properties when the user names no file of their own."""
    named = False
    resolved = []
    for argument in arguments:
        if not argument.startswith("-") and not (here / argument).exists() \
                and (SUITE / argument.split("::")[0]).exists():
            argument, named = str(SUITE / argument), True
        elif not argument.startswith("-") and (here / argument.split("::")[0]).exists():
            named = True
        resolved.append(argument)
    return resolved if named else [*resolved, str(SUITE / "tests")]


def main(argv=None):
    """Run the suite; the exit status is pytest's (2: a usage error, said in one line)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not (SUITE / "conftest.py").is_file():
        print(f"conv2d-conformance: error: the suite's tree is not beside {Path(__file__).name} "
              f"({SUITE}); install it from a checkout: pip install -e PATH/TO/CHECKOUT",
              file=sys.stderr)
        return 2
    here = Path.cwd()
    path = os.pathsep.join(p for p in (str(here), str(SUITE), os.environ.get("PYTHONPATH"))
                           if p)
    command = [sys.executable, "-m", "pytest", f"--rootdir={SUITE}",
               f"--config-file={SUITE / 'pyproject.toml'}", *_arguments(argv, here)]
    return subprocess.run(command, env=dict(os.environ, PYTHONPATH=path)).returncode


if __name__ == "__main__":
    sys.exit(main())
