"""--example-db names a database, or fails in one line before any test runs.

In-process and fast (no server, no network): a real Redis server, an
unreachable one, the artifact and an unreachable GitHub are exercised by
tests/meta/test_scale_out.py (``-m scale``).
"""

import pytest
from hypothesis.database import (DirectoryBasedExampleDatabase, MultiplexedDatabase,
                                 ReadOnlyDatabase)

from suite.example_db import DatabaseSpecError, open_database


def test_local_and_directories_are_written_by_randomised_profiles(tmp_path):
    database, description = open_database("local", read_only=False)
    assert isinstance(database, DirectoryBasedExampleDatabase) and "read-only" not in description
    database, _ = open_database(f"dir:{tmp_path}", read_only=False)
    database.save(b"key", b"value")
    assert list(database.fetch(b"key")) == [b"value"]


def test_derandomised_profiles_only_read(tmp_path):
    writer, _ = open_database(f"dir:{tmp_path}", read_only=False)
    writer.save(b"key", b"saved")
    reader, description = open_database(f"dir:{tmp_path}", read_only=True)
    reader.save(b"key", b"ignored")
    assert isinstance(reader, ReadOnlyDatabase) and description.endswith("read-only")
    assert list(reader.fetch(b"key")) == [b"saved"]


def test_several_databases_are_read_together(tmp_path):
    database, description = open_database(f"dir:{tmp_path / 'a'},dir:{tmp_path / 'b'}",
                                          read_only=False)
    assert isinstance(database, MultiplexedDatabase) and " + " in description


def test_none_is_no_database():
    assert open_database("none", read_only=False) == (None, "none")


@pytest.mark.parametrize("spec, complaint", [
    ("", "expected one of"),
    ("local,", "expected one of"),
    ("bogus", "is none of"),
    ("dir:", "is none of"),
    ("none,local", "cannot be combined"),
    ("github:owner", "expected github:OWNER/REPO"),
    ("github:owner/repo/artifact/extra", "expected github:OWNER/REPO"),
    ("redis://127.0.0.1:notaport/0", "redis"),
])
def test_a_bad_spec_is_one_line_that_says_what_is_wrong(spec, complaint):
    with pytest.raises(DatabaseSpecError) as raised:
        open_database(spec, read_only=False)
    message = str(raised.value)
    assert complaint in message and "\n" not in message

