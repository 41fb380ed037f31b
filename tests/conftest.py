from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """../shared/datasets beside the checkout (CI has it; elsewhere the test is skipped)."""
    if not SHARED.is_dir():
        if IN_CI:
            pytest.fail(f"{SHARED} is missing in CI")
        pytest.skip("../shared/datasets is not beside this checkout")
    return SHARED


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, empty database: a SQLite file, and a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'judgeloop.db'}"
        return
    yield from _fresh_pg_database()


def _fresh_pg_database():
    import uuid

    import psycopg

    base = os.environ.get("JUDGELOOP_TEST_PG")
    if not base:
        if IN_CI:
            pytest.fail("JUDGELOOP_TEST_PG is not set in CI (scripts/start-postgres.sh should set it)")
        pytest.skip("JUDGELOOP_TEST_PG is not set")
    name = f"jl_{uuid.uuid4().hex[:12]}"
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(tmp_path: Path):
    yield from _fresh_pg_database()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run the `judgeloop` entry point in-process: cli([...]) -> (exit code, stdout + stderr)."""
    from judgeloop.cli import main

    def run(args: list[str]) -> tuple[int, str]:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run
