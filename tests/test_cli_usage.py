"""Usage mistakes through the real entry point: click's short usage message and exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "judgeloop", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["import", "data.csv", "--projct", "m1"], "No such option: --projct"),
        (["import", "data.csv"], "Missing option '--project'"),
        (["train", "data.csv", "--method", "fast"], "Invalid value for '--method'"),
        (["improt", "x"], "Did you mean 'import'?"),
        (["judge", "data.csv", "--limit", "abc"], "Invalid value for '--limit'"),
    ],
)
def test_usage_error_prints_usage_and_exits_2(tmp_path: Path, args: list[str], expected: str) -> None:
    (tmp_path / "data.csv").write_text("model_input,model_output,good\nq,a,1\n")
    proc = _run(args, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert expected in proc.stderr
    assert "Usage:" in proc.stderr
    assert not (tmp_path / "judgeloop.db").exists()


def test_domain_error_still_exits_1(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    proc = _run(["import", "missing.csv", "--project", "m1", "--db", db], tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "missing.csv" in proc.stderr
