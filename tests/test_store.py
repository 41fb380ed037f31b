from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from judgeloop.errors import Conflict, InvalidInput, NotFound
from judgeloop.io import read_dataset
from judgeloop.store import Workspace
from judgeloop.store import db as store_db
from judgeloop.types import Label, Session, Verdict


@pytest.fixture
def seed_csv(tmp_path):
    p = tmp_path / "seed.csv"
    p.write_text(
        "model_input,model_output,good,failure_tags,reviewer\n"
        "Where is order 5?,Please share your order number.,1,,ana\n"
        "Can I return shoes?,No returns ever.,0,wrong_policy;rude,ben\n"
        "Hi,Hello! How can I help?,TRUE,,ana\n"
        "unlabelled q,some answer,,,\n",
        encoding="utf-8",
    )
    return p


def test_schema_is_created_by_migrations(db_url):
    ws = Workspace(db_url)
    names = set(inspect(ws.engine).get_table_names())
    assert {
        "projects",
        "sessions",
        "labels",
        "verdicts",
        "evaluator_versions",
        "rubrics",
        "alembic_version",
        "queues",
        "queue_items",
        "assignments",
        "tokens",
        "users",
    } <= names
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store_db.__file__).parent / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()  # one head: the chain is linear
    assert head is not None
    with ws.engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == head


def test_sqlite_uses_wal(tmp_path):
    ws = Workspace(f"sqlite:///{tmp_path / 'w.db'}")
    with ws.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_import_is_idempotent_and_counts(db_url, seed_csv):
    ws = Workspace(db_url)
    first = ws.import_dataset("shop", read_dataset(seed_csv))
    again = ws.import_dataset("shop", read_dataset(seed_csv))
    assert (first.new_sessions, first.new_labels) == (4, 3)
    assert (again.new_sessions, again.existing_sessions, again.new_labels, again.skipped_labels) == (
        0,
        4,
        0,
        3,
    )
    stats = ws.stats("shop")
    assert (stats["sessions"], stats["labels"], stats["good"], stats["bad"]) == (4, 3, 2, 1)
    assert stats["failure_tags"] == {"wrong_policy": 1, "rude": 1}
    assert stats["reviewers"] == {"ana": 2, "ben": 1}


def test_failed_import_writes_nothing(db_url, tmp_path):
    ws = Workspace(db_url)
    p = tmp_path / "ids.csv"
    p.write_text("id,model_input,model_output,good\nA,q,a,1\n", encoding="utf-8")
    ws.import_dataset("shop", read_dataset(p))
    p2 = tmp_path / "ids2.csv"
    p2.write_text("id,model_input,model_output,good\nB,q2,a2,1\nA,other,content,0\n", encoding="utf-8")
    with pytest.raises(Conflict, match="row 2"):
        ws.import_dataset("shop", read_dataset(p2))
    assert [s.id for s in ws.sessions("shop")] == ["A"]
    assert len(ws.labels("shop")) == 1


def test_projects_separate_data(db_url, seed_csv):
    ws = Workspace(db_url)
    ws.import_dataset("a", read_dataset(seed_csv))
    ws.import_dataset("b", read_dataset(seed_csv))
    assert ws.projects() == ["a", "b"]
    assert len(ws.sessions("a")) == len(ws.sessions("b")) == 4
    with pytest.raises(NotFound, match="projects: a, b"):
        ws.sessions("c")


def test_labels_are_append_only_and_consensus_uses_latest(db_url, seed_csv):
    ws = Workspace(db_url)
    ws.import_dataset("shop", read_dataset(seed_csv))
    sid = ws.sessions("shop")[0].id
    assert sid is not None
    ws.add_label("shop", Label(session_id=sid, reviewer="ana", good=False, comment="on second look, no"))
    labels = [lab for lab in ws.labels("shop") if lab.session_id == sid]
    assert [lab.good for lab in labels] == [True, False]  # both kept
    by_id = {s.id: good for s, good, _ in ws.labelled_sessions("shop")}
    assert by_id[sid] is False


def test_label_kinds_and_validation(db_url, seed_csv):
    ws = Workspace(db_url)
    ws.import_dataset("shop", read_dataset(seed_csv))
    sid = ws.sessions("shop")[1].id or ""
    ws.add_label("shop", Label(session_id=sid, reviewer="chloe", kind="likert", scores={"accuracy": 2}))
    ws.add_label("shop", Label(session_id=sid, reviewer="chloe", kind="pairwise", choice="tie"))
    with pytest.raises(InvalidInput, match="choice"):
        ws.add_label("shop", Label(session_id=sid, reviewer="chloe", kind="pairwise"))
    with pytest.raises(NotFound):
        ws.add_label("shop", Label(session_id="nope", reviewer="chloe", good=True))
    kinds = [lab.kind for lab in ws.labels("shop") if lab.session_id == sid]
    assert kinds == ["binary", "likert", "pairwise"]


def test_verdicts_round_trip(db_url, seed_csv):
    ws = Workspace(db_url)
    ws.import_dataset("shop", read_dataset(seed_csv))
    sid = ws.sessions("shop")[0].id
    ws.add_verdicts(
        "shop",
        [
            Verdict(
                session_id=sid,
                evaluator="m",
                version="2",
                label=1,
                probability=0.8,
                scores={"accuracy": 4},
                status="ok",
                latency_ms=3.5,
            )
        ],
    )
    session, labels, verdicts = ws.session_detail("shop", sid or "")
    assert verdicts[0].probability == pytest.approx(0.8) and verdicts[0].scores == {"accuracy": 4}
    assert ws.verdicts("shop", "m@2")[0].session_id == sid
    assert ws.verdicts("shop", "m@3") == []


def test_chat_input_kept_as_structure(db_url):
    ws = Workspace(db_url)
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    ws.add_sessions("p", [Session(model_input=msgs, model_output="ok")])
    assert ws.sessions("p")[0].model_input == msgs


def test_concurrent_label_writers_lose_nothing(db_url, seed_csv):
    ws = Workspace(db_url)
    ws.import_dataset("shop", read_dataset(seed_csv))
    sid = ws.sessions("shop")[0].id or ""
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                ws.add_label("shop", Label(session_id=sid, reviewer=f"r{n}", good=bool(i % 2)))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len([lab for lab in ws.labels("shop") if lab.session_id == sid]) == 1 + 60
