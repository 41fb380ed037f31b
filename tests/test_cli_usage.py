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


def test_a_missing_model_path_is_named_and_no_database_is_created(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("model_input,model_output\nq,a\n")
    env_db = os.environ.pop("JUDGELOOP_DB", None)
    try:
        proc = _run(["evaluate", "x.csv", "--model", "models/nothere", "--out", "p.jsonl"], tmp_path)
        named = _run(["evaluate", "x.csv", "--model", "shop", "--out", "p.jsonl"], tmp_path)
    finally:
        if env_db is not None:
            os.environ["JUDGELOOP_DB"] = env_db
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "no model directory at models/nothere" in proc.stderr
    assert named.returncode == 1 and "no evaluator named 'shop'" in named.stderr
    assert "no workspace database at judgeloop.db" in " ".join(named.stderr.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]  # a read created nothing


def test_load_evaluator_without_a_database_creates_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import judgeloop
    from judgeloop.errors import NotFound

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JUDGELOOP_DB", raising=False)
    with pytest.raises(NotFound, match="no evaluator named 'shop'"):
        judgeloop.load_evaluator("shop")
    with pytest.raises(NotFound, match="no model directory at models/shop"):
        judgeloop.load_evaluator("models/shop")
    assert list(tmp_path.iterdir()) == []
    # with a workspace, a path-like name that is neither a folder nor a registered evaluator
    from judgeloop.store import Workspace

    Workspace(f"sqlite:///{tmp_path / 'judgeloop.db'}").close()
    with pytest.raises(NotFound, match="no model directory at models/shop"):
        judgeloop.load_evaluator("models/shop")
