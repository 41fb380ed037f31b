"""The derived tables (`monitor.derived`) give what the raw rows give, on SQLite and PostgreSQL: the
humans' consensus and the labelled sessions' verdicts, and the disagreements between evaluators (with
and without a focus evaluator), after a first build and after more sessions, verdicts (re-scored
sessions, a new evaluator), labels (a second reviewer, an adjudication, an undo) and newly labelled
sessions arrive past the watermark."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import func, select

from judgeloop.agreement.reviewers import evaluator_vs_human
from judgeloop.errors import InvalidInput
from judgeloop.loop import risk
from judgeloop.monitor import derived
from judgeloop.monitor.outliers import evaluator_disagreements
from judgeloop.monitor.outliers_sql import evaluator_disagreements_sql
from judgeloop.monitor.queries import latest_of, latest_verdicts, load_records
from judgeloop.store import Workspace, human_labels
from judgeloop.store.labels import ADJUDICATION, UNDO_OF
from judgeloop.store.tables import DerivedMarkRow, DisagreementRow, LabelledVerdictRow, LabelRow
from judgeloop.types import Label, Session, Verdict

P = "shop"


def _verdict(rng: random.Random, sid: str, evaluator: str) -> Verdict:
    status = rng.choices(["ok", "error"], [0.9, 0.1])[0]
    if status != "ok":
        return Verdict(session_id=sid, evaluator=evaluator, version="1", status=status)
    p = rng.choice([None, 0.5, rng.random(), rng.random()])
    label = None if rng.random() < 0.05 else int((p if p is not None else rng.random()) >= 0.5)
    return Verdict(session_id=sid, evaluator=evaluator, version=rng.choice(["1", "2"]), label=label,
                   probability=p, threshold=0.5)  # fmt: skip


def _score(ws: Workspace, rng: random.Random, ids: list[str], names: dict[str, float]) -> None:
    ws.add_verdicts(
        P, [_verdict(rng, sid, n) for sid in ids for n, share in names.items() if rng.random() < share]
    )


def _label(ws: Workspace, rng: random.Random, sid: str, reviewer: str, **meta: object) -> Label:
    kind = rng.choices(["binary", "likert"], [0.9, 0.1])[0]
    if kind == "likert":
        return ws.add_label(P, Label(session_id=sid, reviewer=reviewer, kind="likert", scores={"tone": 3}))
    good = rng.random() < 0.6
    tags = rng.choice([[], [], ["wrong"], ["rude", "wrong"], ["off-topic"]])
    label = Label(session_id=sid, reviewer=reviewer, good=good, failure_tags=tags, metadata=dict(meta))
    return ws.add_label(P, label)


def _ids(latest: dict) -> dict:
    return {name: {sid: r.verdict_id for sid, r in per.items()} for name, per in latest.items()}


def _same_calibration(ws: Workspace, ref: str, humans: dict, records: Any, direct: Any) -> None:
    def data(rows: Any) -> dict | None:
        try:
            return risk.calibration_data(ws, P, ref, humans=humans, labelled=rows, count_verdicts=False)
        except InvalidInput:
            return None

    a, b = data(records), data(direct)
    assert (a is None) == (b is None), ref
    if a is not None and b is not None:
        rows = [
            sorted(zip(x["session_ids"], x["probs"].tolist(), x["good"].tolist(), strict=True))
            for x in (a, b)
        ]
        assert rows[0] == rows[1] and a["threshold"] == b["threshold"], ref  # the same rows, maybe reordered


def _check(ws: Workspace) -> None:
    stats, want = derived.project_stats(ws, P), ws.stats(P)
    assert stats == want
    for key in ("kinds", "reviewers", "failure_tags"):  # the same order too (most common first)
        assert list(stats[key].items()) == list(want[key].items())
    humans, records = derived.labelled(ws, P)
    assert humans == human_labels(ws.labels(P))
    assert derived.labelled(ws, P)[1] is records  # nothing changed: the rows kept in the process
    direct = load_records(ws, P, labelled=True, session_meta=False)
    assert [r.verdict_id for r in records] == sorted(r.verdict_id for r in records)
    kept = {r.verdict_id for r in records}
    assert kept <= {r.verdict_id for r in direct}
    with ws.reader() as db:
        assert db.scalar(select(func.count()).select_from(LabelledVerdictRow)) == len(kept)
    # what each reader makes of them is the same as from every verdict
    assert evaluator_vs_human(records, humans) == evaluator_vs_human(direct, humans)
    names = sorted({r.evaluator for r in direct})
    assert _ids(latest_of(records)) == _ids(latest_of(direct)) and names
    for ref in sorted({r.ref for r in direct} | set(names)):
        _same_calibration(ws, ref, humans, records, direct)
    everything = latest_verdicts(ws, P)
    for focus in (None, "support", "judge", "extra"):
        want = sorted(
            evaluator_disagreements(everything, focus).values(), key=lambda o: (-o.strength, o.session_id)
        )
        got = evaluator_disagreements_sql(ws, P, ["judge", "extra"], focus, limit=10_000)
        assert sorted((o.session_id, o.strength) for o in got) == sorted(
            (o.session_id, o.strength) for o in want
        )
        assert [o.strength for o in got] == sorted((o.strength for o in got), reverse=True)
        assert {o.session_id: o.detail for o in got} == {o.session_id: o.detail for o in want}


@pytest.mark.parametrize("seed", [1, 2])
def test_derived_tables_equal_the_raw_rows(db_url, seed):
    rng = random.Random(seed)
    ws = Workspace(db_url)
    first = [f"a{i}" for i in range(200)]
    ws.add_sessions(P, [Session(id=sid, model_input=f"q {sid}", model_output="a") for sid in first])
    _score(ws, rng, first, {"support": 0.9, "judge": 0.4})
    for sid in rng.sample(first, 60):
        _label(ws, rng, sid, "ann")
    _check(ws)
    with ws.reader() as db:
        assert db.scalar(select(func.count()).select_from(DisagreementRow)) > 0  # the table was read
        mark = db.scalar(select(DerivedMarkRow))
        assert mark is not None and mark.verdict_id > 0 and mark.label_id > 0

    later = [f"b{i}" for i in range(60)]  # new sessions, re-scored old ones, a new evaluator
    ws.add_sessions(P, [Session(id=sid, model_input=f"q {sid}", model_output="a") for sid in later])
    _score(ws, rng, later + rng.sample(first, 80), {"support": 0.8, "judge": 0.5, "extra": 0.3})
    labelled = sorted(human_labels(ws.labels(P)))
    for sid in rng.sample(labelled, 15):  # a second reviewer on sessions labelled before
        _label(ws, rng, sid, "bea")
    for sid in rng.sample(labelled, 5):  # a lead settles some
        _label(ws, rng, sid, "lead", **{ADJUDICATION: True})
    mine = [x for x in ws.labels(P) if x.reviewer == "ann" and x.kind == "binary"]
    with ws.db() as db:  # withdrawn (as `review.assignments.undo_last` writes it): consensus changes or goes
        for x in rng.sample(mine, 6):
            row = db.get(LabelRow, x.id)
            assert row is not None
            undo = {"reviewer": "ann", "kind": "binary", "failure_tags": [], "meta": {UNDO_OF: x.id}}
            db.add(LabelRow(project_id=row.project_id, session_pk=row.session_pk, **undo))
    for sid in rng.sample(later + first, 30):  # labelled for the first time, with older verdicts
        _label(ws, rng, sid, "cy")
    _check(ws)
    _score(ws, rng, rng.sample(first, 40), {"judge": 1.0})  # verdicts only, no new labels
    _check(ws)
    with ws.reader() as db:  # re-scored sessions' superseded copies were pruned
        copies = db.scalar(select(func.count()).select_from(LabelledVerdictRow))
    assert copies < len(load_records(ws, P, labelled=True, session_meta=False))


def test_rows_kept_in_the_process_are_not_those_of_a_database_made_again(tmp_path):
    """The same URL, a new database with the same ids and counts: its own rows come back."""
    url = f"sqlite:///{tmp_path / 'again.db'}"
    seen = []
    for good, label in ((True, 1), (False, 0)):
        ws = Workspace(url)
        ws.add_sessions(P, [Session(id="s1", model_input="q", model_output="a")])
        ws.add_verdicts(P, [Verdict(session_id="s1", evaluator="support", label=label, probability=0.9)])
        ws.add_label(P, Label(session_id="s1", reviewer="ann", good=good))
        humans, records = derived.labelled(ws, P)
        seen.append((humans, [r.label for r in records]))
        ws.close()
        (tmp_path / "again.db").unlink()
    assert seen == [({"s1": True}, [1]), ({"s1": False}, [0])]
