"""``conv2d-conformance`` runs the suite from a kernel author's own directory.

The author's module is found where they stand, their relative paths stay
theirs, and nothing is written into the suite's tree (conv2d_conformance.py).
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNEL = '''
import torch.nn.functional as F


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
'''


def _command(tmp_path, *arguments):
    return subprocess.run([sys.executable, str(ROOT / "conv2d_conformance.py"), *arguments],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_the_command_finds_the_authors_module_and_writes_where_the_author_stands(tmp_path):
    (tmp_path / "their_kernel.py").write_text(KERNEL)
    result = _command(tmp_path, "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
                      "--conv2d-impl=their_kernel:conv2d", "--conv2d-properties=shape.formula",
                      "--conv2d-summary=summary.md")
    assert result.returncode == 0 and (tmp_path / "summary.md").is_file(), (
        f"exit {result.returncode}, files {sorted(p.name for p in tmp_path.iterdir())}, but "
        f"should pass and write summary.md beside their module\n{result.stdout[-2000:]}"
        f"{result.stderr[-2000:]}")


def test_a_module_the_command_cannot_import_is_a_one_line_usage_error(tmp_path):
    result = _command(tmp_path, "--conv2d-impl=not_there:conv2d")
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 4 and len(errors) == 1 and "not_there" in errors[0], (
        f"exit {result.returncode}, stderr {result.stderr!r}, but should be pytest's usage "
        f"error (4) in one line naming the module")
