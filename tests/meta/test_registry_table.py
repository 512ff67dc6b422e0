"""docs/registry.md is the registry file's table, generated, never edited by hand.

``python -m suite.registry_table`` prints one row per entry of
tests/known_deviations.toml; the committed page must be exactly that output,
so an entry added, changed or removed without regenerating the page fails here.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from suite import registry

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "registry.md"
REGENERATE = "python -m suite.registry_table > docs/registry.md"


def _command(*arguments):
    return subprocess.run([sys.executable, "-m", "suite.registry_table", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def printed():
    result = _command()
    assert result.returncode == 0, (
        f"python -m suite.registry_table exited {result.returncode} ({result.stderr.strip()}), "
        f"but should print the table")
    return result.stdout


def test_the_table_has_one_row_per_registry_entry_in_the_files_order(printed):
    rows = [line.split("`")[1] for line in printed.splitlines() if line.startswith("| `")]
    entries = [entry.id for entry in registry.load()]
    assert rows == entries, f"rows {rows}, but should be the entries {entries}, one each"


def test_docs_registry_md_is_the_table_of_the_registry_as_it_stands(printed):
    committed = PAGE.read_text() if PAGE.exists() else ""
    assert committed == printed, (
        f"docs/registry.md differs from the registry's table, but should be it: run {REGENERATE}")


def test_a_malformed_registry_file_is_a_one_line_error(tmp_path):
    broken = tmp_path / "known_deviations.toml"
    broken.write_text('[[entry]]\nid = "half-written"\n')
    result = _command(str(broken))
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "half-written" in lines[0], (
        f"exit {result.returncode} with {result.stderr!r}, but should be exit 2 with one line "
        f"naming the entry")
