"""The registry of torch's known behaviour as a markdown page: docs/registry.md.

    python -m suite.registry_table > docs/registry.md
    python -m suite.registry_table OTHER.toml

The page is generated from the registry file, read and checked by
``suite.registry.load``, so the documentation cannot drift from what the runs
recheck (tests/meta/test_registry_table.py compares the committed page with
this output).  A file that cannot be read or is malformed is a one-line error,
exit status 2.
"""

from pathlib import Path

from suite import registry
from suite.replay import CANNOT_RUN, OneLineParser

HEADER = """\
# torch's known deviations

Generated from `tests/known_deviations.toml` by `python -m suite.registry_table`;
edit the TOML file and regenerate this page, never the page itself.  Every run
rechecks each entry and reports it as present, stale, or not this torch's (or
CPU's, or implementation's): [architecture.md](architecture.md#the-registry).

| entry | kind | recorded for | what torch does | upstream |
|---|---|---|---|---|
"""


def _cell(text):
    """``text`` as one markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def recorded_for(entry):
    """The torch range, and the CPU features or implementations it is limited to."""
    limits = [f"CPUs with {entry.cpu}"] if entry.cpu else []
    limits += [f"`--conv2d-impl={name}` only" for name in entry.implementation.split()]
    return f"`{entry.torch}`" + (f" ({'; '.join(limits)})" if limits else "")


def row(entry):
    """One entry as one markdown table row."""
    cells = (f"`{entry.id}`", entry.kind, recorded_for(entry), _cell(entry.observed),
             _cell(entry.upstream) or "-")
    return "| " + " | ".join(cells) + " |"


def page(entries):
    """The whole page for ``entries``: a header, then one row per entry."""
    return HEADER + "".join(row(entry) + "\n" for entry in entries)


def main(argv=None):
    parser = OneLineParser(prog="python -m suite.registry_table",
                           description=__doc__.splitlines()[0])
    parser.add_argument("registry", nargs="?", type=Path, default=registry.KNOWN_DEVIATIONS,
                        help="the registry file (default: tests/known_deviations.toml)")
    arguments = parser.parse_args(argv)
    try:
        entries = registry.load(arguments.registry)
    except registry.RegistryError as error:
        parser.exit(CANNOT_RUN, f"{parser.prog}: error: {error}\n")
    print(page(entries), end="")


if __name__ == "__main__":
    main()
