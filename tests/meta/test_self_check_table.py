"""The self-check table says which property failed on which broken conv2d.

bench/self_check_table.py is fed outcome files written by hand, as the self-check
writes them: no subprocess, no broken implementation is run.
"""

import json

import pytest

from bench import self_check_table
from implementations.broken import all_broken


def _broken(name):
    return next(broken for broken in all_broken() if broken.name == name)


def _keep(folder, broken, outcomes):
    (folder / broken.outcomes_file).write_text(json.dumps(outcomes))


def test_the_table_marks_what_failed_ran_and_was_never_asked(tmp_path):
    tail = _broken("drops_the_tail_of_a_16_channel_block")
    _keep(tmp_path, tail, {"forward.exact": "failed", "forward.float": "passed"})
    found = self_check_table.read_outcomes(tmp_path)
    rows = {line.split()[0]: line for line in
            self_check_table.table_lines(found, ["forward.exact", "forward.float", "corpus"])[1:4]}
    assert rows["forward.exact"].split()[1:] == ["F", "1"], rows
    assert rows["forward.float"].split()[1] == "." and "no broken implementation" in \
        rows["forward.float"], rows
    assert "no broken implementation fails it" in rows["corpus"], rows


def test_a_named_property_that_did_not_fail_is_called_not_caught(tmp_path):
    tail = _broken("drops_the_tail_of_a_16_channel_block")
    _keep(tmp_path, tail, {"forward.exact": "passed"})
    lines = self_check_table.table_lines(self_check_table.read_outcomes(tmp_path),
                                         ["forward.exact"])
    assert f"NOT CAUGHT: {tail.spec} names forward.exact, which did not fail on it" in lines


def test_a_broken_conv2d_that_only_corpus_cases_fail_is_listed(tmp_path):
    wraps = _broken("wraps_group_indices_past_32")
    _keep(tmp_path, wraps, {"corpus[in1x48x5x5:w48x1x3x3:s1:p0:d1:g48:float32:contiguous:"
                            "exact:seed0]": "failed", "corpus[other]": "passed"})
    lines = self_check_table.corpus_only_lines(self_check_table.read_outcomes(tmp_path))
    assert any(line.strip().startswith(wraps.spec + ":") for line in lines), lines


@pytest.mark.parametrize("content, complaint", [
    (None, "no such folder"), ({}, "no outcome files"), ("not json", "not an outcomes file"),
])
def test_a_folder_without_outcomes_is_a_one_line_error(tmp_path, content, complaint):
    folder = tmp_path / "outcomes"
    if content is not None:
        folder.mkdir()
        if content == "not json":
            broken = all_broken()[0]
            (folder / broken.outcomes_file).write_text(content)
    with pytest.raises(self_check_table.TableError) as raised:
        self_check_table.read_outcomes(folder)
    assert complaint in str(raised.value) and "\n" not in str(raised.value), raised.value
