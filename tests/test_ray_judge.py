"""`judgeloop judge ... --engine ray` (issue 18 §2): judge calls spread over Ray actors give the file
and the store what `--engine local` gives, and the actors share the workspace's LLM cache. A real local
Ray runtime (3 CPUs) and a scripted judge behind a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import csv
import json

import pytest

from _llm_support import FakeOpenAI, ThreadServer
from test_judge_cli import ROWS, grader

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
SESSIONS = [(f"{i} #{n}", o, good) for n in range(5) for i, o, good in ROWS]  # 20 distinct sessions


@pytest.fixture(scope="module", autouse=True)
def ray_runtime():
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    yield
    ray.shutdown()


@pytest.fixture
def server():
    fake = FakeOpenAI(grader)
    with ThreadServer(fake.app) as running:
        yield fake, running.base_url


def _verdicts(path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    for line in lines:
        line.pop("latency_ms")  # the only field that differs between two runs
    return lines


def test_a_file_judged_on_ray_matches_the_local_engine(tmp_path, server, cli):
    fake, url = server
    rows = tmp_path / "sessions.jsonl"
    rows.write_text("".join(json.dumps({"model_input": i, "model_output": o}) + "\n" for i, o, _ in SESSIONS))
    base = ["judge", rows, "--model", "fake", "--base-url", url, "--concurrency", "1"]
    code, output = cli([*base, "--out", tmp_path / "local.jsonl"])
    assert code == 0, output
    code, output = cli([*base, "--out", tmp_path / "ray.jsonl", "--engine", "ray", "--workers", "2"])
    assert code == 0, output
    local, on_ray = _verdicts(tmp_path / "local.jsonl"), _verdicts(tmp_path / "ray.jsonl")
    assert on_ray == local and len(on_ray) == len(SESSIONS)
    assert [v["label"] for v in on_ray] == [good for _, _, good in SESSIONS]
    assert len(fake.requests) == 2 * len(SESSIONS)  # no cache for a file: every call made again
    assert f"{len(SESSIONS)} calls (0 cached" in " ".join(output.split())


def test_ray_actors_share_the_workspace_cache_and_store_what_local_stores(tmp_path, server, cli):
    fake, url = server
    db = f"sqlite:///{tmp_path}/ws.db"
    data = tmp_path / "seed.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model_input", "model_output", "good"])
        writer.writerows(SESSIONS)
    assert cli(["import", data, "--project", "p", "--db", db])[0] == 0
    judge = ["judge", "--project", "p", "--db", db, "--model", "fake", "--base-url", url]
    code, output = cli([*judge, "--concurrency", "1", "--engine", "ray", "--workers", "2"])
    assert code == 0, output
    assert len(fake.requests) == len(SESSIONS)
    code, output = cli([*judge, "--name", "judge:again"])  # local now: every call is in the cache
    assert code == 0, output
    assert len(fake.requests) == len(SESSIONS)
    assert f"({len(SESSIONS)} cached" in " ".join(output.split())
    from judgeloop.store import Workspace

    ws = Workspace(db)
    on_ray = {v.session_id: (v.label, v.scores) for v in ws.verdicts("p", evaluator="judge:seed")}
    local = {v.session_id: (v.label, v.scores) for v in ws.verdicts("p", evaluator="judge:again")}
    assert on_ray == local and len(on_ray) == len(SESSIONS)
