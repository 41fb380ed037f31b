"""The monitoring pages' SQL aggregation gives what a plain Python computation over the same stored rows
gives, on SQLite and PostgreSQL: per-window counts over each session's latest verdict (some sessions are
re-scored, one of them last with an error), traffic per window, the alert's most surprising sessions,
outliers (evaluators vs evaluators, low confidence with tied probabilities at the cut), calibration and
agreement from the labelled sessions only."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from judgeloop.agreement.reviewers import evaluator_vs_human
from judgeloop.loop import risk
from judgeloop.monitor import Alert, alert_sessions, evaluator_disagreements, low_confidence, surprise
from judgeloop.monitor.aggregate import session_counts, window_counts
from judgeloop.monitor.outliers_sql import evaluator_disagreements_sql, low_confidence_sql
from judgeloop.monitor.queries import latest_verdicts, load_records
from judgeloop.monitor.series import BUCKETS, floor_time
from judgeloop.review import dashboard
from judgeloop.store import Workspace, human_labels
from judgeloop.types import Label, Session, Verdict

P = "shop"
T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
HOURS = 60
TAU = 0.8


def _seed(ws: Workspace) -> datetime:
    """The project; returns a time between the first verdicts and the re-scores."""
    times = [T0 + timedelta(minutes=37 * i) for i in range(HOURS * 60 // 37)]
    sessions = [
        Session(id=f"s{i:03d}", model_input=f"q{i}", model_output=f"a{i}", created_at=t)
        for i, t in enumerate(times)
    ]
    ws.add_sessions(P, sessions)
    first, again, judge = [], [], []
    for i, s in enumerate(sessions):
        if i % 7 == 6:
            continue  # never scored
        p = [0.03, 0.2, 0.45, 0.5, 0.55, 0.7, 0.9, 0.97, 0.55, 0.45][i % 10]  # ties on both sides of 0.5
        status = "error" if i % 23 == 0 else "abstain" if i % 29 == 0 else "ok"
        ok = status == "ok"
        threshold = 0.6 if i % 11 == 0 else None if i % 13 == 0 else 0.5
        first.append(Verdict(session_id=s.id, evaluator="support", version="1", status=status,
                             label=int(p >= 0.5) if ok else None, probability=p if ok else None,
                             threshold=threshold))  # fmt: skip
        if i % 5 == 0:  # re-scored by version 2: the latest verdict is the one that counts
            q = 1 - p
            later = "error" if i % 25 == 0 else "ok"
            again.append(Verdict(session_id=s.id, evaluator="support", version="2", status=later,
                                 label=int(q >= 0.5) if later == "ok" else None,
                                 probability=q if later == "ok" else None, threshold=0.5))  # fmt: skip
        if i % 3 == 0:
            judge.append(Verdict(session_id=s.id, evaluator="judge", label=int(i % 4 != 0),
                                 probability=None if i % 2 else 0.35 + 0.01 * (i % 9)))  # fmt: skip
    ws.add_verdicts(P, first)
    ws.add_verdicts(P, judge)
    between = datetime.now(timezone.utc)
    ws.add_verdicts(P, again)
    # imported late: old times, the highest pks (a session's pk does not follow its time)
    late = [
        Session(
            id=f"late{i}", model_input=f"late q{i}", model_output="a", created_at=T0 + timedelta(hours=7 * i)
        )
        for i in range(1, 8)
    ]
    ws.add_sessions(P, late)
    ws.add_verdicts(
        P,
        [
            Verdict(session_id=x.id, evaluator="support", version="1", label=i % 2, probability=0.1 + 0.1 * i)
            for i, x in enumerate(late)
        ],
    )
    for i, s in enumerate(sessions):
        if i % 4 == 0:
            ws.add_label(P, Label(session_id=s.id, reviewer="r0", good=i % 8 == 0))
            if i % 12 == 0:
                ws.add_label(P, Label(session_id=s.id, reviewer="r1", good=i % 24 != 0))
    return between


def first_ok(ws: Workspace) -> list:
    """The support verdicts stored first (version 1) that are ok with a label."""
    return [r for r in load_records(ws, P, "support@1") if r.status == "ok" and r.label is not None]


def _latest_in(ws: Workspace, evaluator: str, start: datetime, end: datetime, axis: str = "session") -> list:
    """Python: each session's latest verdict (any status) of the evaluator, sessions (or verdicts) in
    [start, end)."""
    latest = {}
    for r in load_records(ws, P, evaluator, since=start, until=end, time_axis=axis):  # type: ignore[arg-type]
        latest[r.session_id] = r  # by id
    return list(latest.values())


KEYS = ("n", "passes", "errors", "abstains", "n_prob", "scored", "review")


def _expected(records: list, bucket: str) -> dict[datetime, dict[str, int]]:
    out: dict[datetime, Counter] = {}
    for r in records:
        c = out.setdefault(floor_time(r.at, bucket), Counter({k: 0 for k in KEYS}))
        ok = r.status == "ok"
        c["n"] += ok and r.label is not None
        c["passes"] += ok and r.label == 1
        c["errors"] += r.status == "error"
        c["abstains"] += r.status not in ("ok", "error")
        c["n_prob"] += ok and r.probability is not None
        c["scored"] += ok
        c["review"] += ok and r.probability is not None and max(r.probability, 1 - r.probability) < TAU
    return {t: dict(c) for t, c in out.items()}


@pytest.mark.parametrize("bucket", ["hour", "day"])
def test_window_counts_equal_python_over_latest_verdicts(db_url, bucket):
    ws = Workspace(db_url)
    between = _seed(ws)
    start, end = T0 + timedelta(hours=5), T0 + timedelta(hours=HOURS - 3)
    start, end = floor_time(start, bucket), floor_time(end, bucket) + BUCKETS[bucket]
    for evaluator in ("support", "support@1", "judge"):
        got = window_counts(ws, P, evaluator, bucket, start, end, tau=TAU, rule=True)
        assert got.series is not None
        expected = _expected(_latest_in(ws, evaluator, start, end), bucket)
        assert sum(x["n"] for x in expected.values()) > 0
        seen = {}
        for w in got.series.windows:
            if w.n or w.errors or w.abstains or got.scored.get(w.start):
                seen[w.start] = {"n": w.n, "passes": w.passes, "errors": w.errors, "abstains": w.abstains,
                                 "n_prob": w.n_prob, "scored": got.scored[w.start],
                                 "review": got.review[w.start]}  # fmt: skip
        assert seen == {t: {k: int(c[k]) for k in KEYS} for t, c in expected.items()}, evaluator
    # by verdict time (stored just now), up to a time between the first verdicts and the re-scores: the
    # latest verdict made in the period counts, not one that supersedes it later
    made = floor_time(between, bucket) - BUCKETS[bucket], between
    got = window_counts(ws, P, "support", bucket, *made, time_axis="verdict", tau=TAU, rule=True)
    assert got.series is not None
    by_verdict = _expected(_latest_in(ws, "support", *made, axis="verdict"), bucket)
    assert sum(c["n"] for c in by_verdict.values()) == len([r for r in first_ok(ws) if r.at < between])
    assert {w.start: (w.n, w.passes, w.errors, w.n_prob) for w in got.series.windows if w.n or w.errors} == {
        t: (c["n"], c["passes"], c["errors"], c["n_prob"]) for t, c in by_verdict.items()
    }
    # re-scoring matters: counting every verdict would give more than one verdict per session
    every = load_records(ws, P, "support", since=start, until=end, time_axis="session")
    assert len(every) > len(_latest_in(ws, "support", start, end))
    sessions = [s for s in ws.sessions(P) if start <= s.created_at.replace(tzinfo=timezone.utc) < end]
    assert session_counts(ws, P, bucket, start, end) == Counter(
        floor_time(s.created_at.replace(tzinfo=timezone.utc), bucket) for s in sessions
    )
    rule = risk.AutomationRule(tau=TAU, target=0.05, delta=0.1, coverage=0.5, empirical_error=0.02,
                               upper_bound=0.04, n_calibration=10, n_auto=5, n_errors=0,
                               evaluator="support")  # fmt: skip
    risk.save_rule(ws, P, rule)
    page = dashboard.overview(ws, P, "support", bucket=bucket, since=start, now=end - timedelta(seconds=1))
    assert sum(w["sessions"] for w in page["windows"]) == len(sessions)
    expected = _expected(_latest_in(ws, "support", start, end), bucket)
    for w in page["windows"]:
        c = expected.get(w["start"], Counter())
        assert (w["n"], w["scored"]) == (c["n"], c["scored"])
        share = c["review"] / c["n_prob"] if c["n_prob"] else None
        assert w["needs_review_share"] == share


def test_alert_sessions_and_outliers_equal_python(db_url):
    ws = Workspace(db_url)
    _seed(ws)
    start, end = T0 + timedelta(hours=10), T0 + timedelta(hours=30)
    alert = Alert(project=P, evaluator="support", series="support", group_by=None, group=None,
                  window_start=start, window_end=end, windows=20, n=0, fails=0, pass_rate=0.5,
                  baseline_pass_rate=0.7, drop=0.2, p_value=None, adjusted_p=None, statistic=None,
                  test="binomial", correction="bh", alpha=0.05, bucket="hour",
                  time_axis="session")  # fmt: skip
    records = [r for r in load_records(ws, P, "support", since=start, until=end, time_axis="session")]
    for limit in (5, 17, 500):
        expected = sorted(records, key=lambda r: (-surprise(r, 0.7), r.verdict_id))[:limit]
        got = alert_sessions(ws, P, alert, limit=limit)
        assert [(s.session_id, s.surprise) for s in got] == [
            (r.session_id, round(surprise(r, 0.7), 4)) for r in expected
        ]

    latest = latest_verdicts(ws, P)
    between = evaluator_disagreements(latest)
    assert len(between) > 3
    order = sorted(between.values(), key=lambda o: (-o.strength, o.session_id))
    for focus in (None, "judge"):
        wanted = [o for o in order if focus is None or focus in o.detail["labels"]]
        for limit in (3, 1000):
            got = evaluator_disagreements_sql(ws, P, ["judge"], focus, limit)
            assert [(o.session_id, o.strength, o.detail) for o in got] == [
                (o.session_id, o.strength, o.detail) for o in wanted[:limit]
            ]
    for name in ("support", "judge"):
        for limit in (1, 4, 9, 1000):  # 0.45 and 0.55 are tied several times: the cut falls in a tie
            assert low_confidence_sql(ws, P, name, limit) == low_confidence(latest.get(name, {}), limit), (
                name,
                limit,
            )


def test_labelled_rows_give_the_same_calibration_and_agreement(db_url):
    ws = Workspace(db_url)
    _seed(ws)
    humans = human_labels(ws.labels(P))
    labelled = load_records(ws, P, labelled=True, session_meta=False)
    assert {r.session_id for r in labelled} <= {lab.session_id for lab in ws.labels(P)}
    assert evaluator_vs_human(labelled, humans, 50) == evaluator_vs_human(ws.verdicts(P), humans, 50)
    for ref in ("support", "support@1", "support@2"):
        data = risk.calibration_data(ws, P, ref)
        name, _, version = ref.partition("@")
        latest = {}
        for r in load_records(ws, P, ref):
            if r.status == "ok" and r.session_id:
                latest[r.session_id] = r
        kept = [(sid, r) for sid, r in latest.items() if sid in humans and r.probability is not None]
        assert data["session_ids"] == [sid for sid, _ in kept]
        assert data["probs"].tolist() == [r.probability for _, r in kept]
        assert data["good"].tolist() == [int(humans[sid]) for sid, _ in kept]
        assert data["verdicts"] == len(latest)
    page = dashboard.evaluators_page(ws, P, n_resamples=50)
    support = next(v for v in page["versions"] if v["ref"] == "support@1")
    assert support["calibration"]["n"] == len(risk.calibration_data(ws, P, "support@1")["good"])
    assert not math.isnan(support["calibration"]["ece"])


def test_thresholds_of_lists_each_evaluators_own_thresholds(db_url):
    """judge's verdicts have no threshold, support's some, strict's all: strict's list must not get a
    None from the others' rows (PostgreSQL estimates "threshold IS NULL" over the whole table)."""
    from judgeloop.monitor.sql import thresholds_of

    ws = Workspace(db_url)
    _seed(ws)
    ids = [s.id for s in ws.sessions(P)][:6]
    ws.add_verdicts(P, [Verdict(session_id=sid, evaluator="strict", label=1, probability=0.8,
                                threshold=0.4 + 0.1 * (i % 3)) for i, sid in enumerate(ids)])  # fmt: skip
    every = ws.verdicts(P)
    with ws.reader() as db:
        pid = ws.project_id(db, P)
        for name in ("support", "judge", "strict"):
            got = thresholds_of(db, pid, name)
            want = {v.threshold for v in every if v.evaluator == name}
            assert set(got) == want and len(got) == len(want), name
            assert got[-1] is None if None in want else None not in got, name
    assert {None, 0.5} <= {v.threshold for v in every if v.evaluator == "support"}
    assert {v.threshold for v in every if v.evaluator == "judge"} == {None}
