"""The active selection's rankers in SQL: each strategy's top k comes from a query with a LIMIT over an
index instead of every session, label and verdict loaded into Python (`selection.load_context`, the
reference the tests compare with). The same picks as that path, strategy by strategy:

- candidates (no label, in no queue of the project) are two NOT EXISTS probes per row, by the indexes
  labels (project_id, session_pk) and queue_items (session_pk);
- `uncertainty`: the focus evaluator's latest ok verdicts read outwards from each threshold along the
  index (project_id, evaluator, threshold, probability), up and down, `k` rows a side; the rows that
  may tie with the k-th are fetched too, so that the order (priority, then session id) is exact;
- `disagreement`: the vote split of the latest ok labels grouped per session in SQL, over the sessions
  that some evaluator other than the one scoring most of the traffic judged (linear in that second
  evaluator's traffic); with the humans: the labelled sessions where the focus's latest label differs
  from some binary label (a superset), walked strongest first and settled in Python by
  `human_label`, page by page until `k` are found;
- `random`: `selection.sample_pks` draws pks between the project's lowest and highest and keeps the
  candidates (one `IN` probe per batch); a project whose candidates are too sparse in that range
  falls back to reading them all;
- `failure-type`: the tag weights from the tagged labels only; the candidates ranked are all of them up
  to FAILURE_POOL, else a random FAILURE_POOL of them (the only strategy that ranks a sample).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Numeric, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session as DB
from sqlalchemy.orm import aliased

from judgeloop.errors import InvalidInput
from judgeloop.loop.selection import (
    Context,
    Pick,
    by_failure_type,
    failure_weights,
    sample_pks,
)
from judgeloop.monitor import derived
from judgeloop.monitor.outliers import confidence_margin, human_disagreements
from judgeloop.monitor.outliers_sql import disagreeing, most_recent_evaluator, scored_names
from judgeloop.monitor.queries import (
    RECORD_COLUMNS,
    VerdictRecord,
    as_utc,
    champion_of_project,
    project_labels,
    record,
    session_texts,
)
from judgeloop.monitor.sql import evaluator_names, latest_ok, latest_ok_on, thresholds_of
from judgeloop.store import Workspace, human_labels
from judgeloop.store.tables import (
    DisagreementRow,
    LabelledSessionRow,
    LabelledVerdictRow,
    LabelRow,
    QueueItemRow,
    QueueRow,
    SessionRow,
    VerdictRow,
)
from judgeloop.types import EvaluatorRef

FAILURE_POOL = 5000
CHUNK = 5000  # ids per IN list
Rankers = dict[str, Callable[[int], list[Pick]]]


def candidate(pid: int, pk: Any) -> Any:
    """SQL: session `pk` has no label and is in no review queue of project `pid`."""
    lab, item, queue = aliased(LabelRow), aliased(QueueItemRow), aliased(QueueRow)
    return and_(
        ~exists().where(lab.project_id == pid, lab.session_pk == pk),
        ~exists().where(item.session_pk == pk, queue.id == item.queue_id, queue.project_id == pid),
    )


def not_queued(pid: int, pk: Any) -> Any:
    item, queue = aliased(QueueItemRow), aliased(QueueRow)
    return ~exists().where(item.session_pk == pk, queue.id == item.queue_id, queue.project_id == pid)


def by_uid(db: DB, uid: Any = SessionRow.uid) -> Any:
    """Session ids (column `uid`) in code-point order, as Python sorts them (PostgreSQL's collation may
    differ)."""
    return uid.collate("C") if db.get_bind().dialect.name == "postgresql" else uid


def sql_rankers(ws: Workspace, project: str, evaluator: str | None, seed: int, strict: bool) -> Rankers:
    """The four strategies' rankers (k -> picks), each reading only what it ranks."""
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        names = scored_names(ws, project, evaluator_names(db, pid))
    focus = _focus(ws, project, pid, evaluator, names)

    def uncertainty(k: int) -> list[Pick]:
        if focus is None and not strict:
            return []
        return by_uncertainty_sql(ws, pid, focus, k)

    return {
        "uncertainty": uncertainty,
        "disagreement": lambda k: by_disagreement_sql(ws, project, pid, names, focus, k),
        "failure-type": lambda k: by_failure_type_sql(ws, project, pid, focus, k, seed),
        "random": lambda k: by_random_sql(ws, pid, k, seed),
    }


def _focus(ws: Workspace, project: str, pid: int, evaluator: str | None, names: list[str]) -> str | None:
    if evaluator:
        return EvaluatorRef.parse(evaluator).name
    champ = champion_of_project(ws, project)
    if champ is not None and champ[0] in names:
        return champ[0]
    v = aliased(VerdictRow)
    with ws.reader() as db:  # no champion: the evaluator with the most probabilities (one scan)
        counts = db.execute(
            select(v.evaluator, func.count())
            .where(latest_ok(v, pid), v.probability.is_not(None))
            .group_by(v.evaluator)
        ).all()
    best = max(((int(c), str(n)) for n, c in counts), default=None)
    return best[1] if best and best[0] > 0 else None


# --- uncertainty ------------------------------------------------------------------------------------


def by_uncertainty_sql(ws: Workspace, pid: int, focus: str | None, k: int) -> list[Pick]:
    v = aliased(VerdictRow)
    mine = (latest_ok(v, pid), v.evaluator == (focus or ""), v.probability.is_not(None))
    with ws.reader() as db:
        if focus is None or not db.scalar(select(exists().where(*mine))):
            raise InvalidInput(
                "uncertainty sampling needs an evaluator with probability verdicts in this project",
                field="evaluator",
                expected="--evaluator NAME, or a champion with verdicts",
            )
        base = (
            select(*_columns(v), SessionRow.uid)
            .join(SessionRow, SessionRow.pk == v.session_pk)
            .where(*mine, candidate(pid, v.session_pk))
        )

        def side(t: float | None, up: bool, reach: float | None = None) -> Any:
            at = 0.5 if t is None else t
            q = base.where(v.threshold.is_(None) if t is None else v.threshold == t)
            if up:
                q = q.where(v.probability >= at).order_by(v.probability)
                return q if reach is None else q.where(v.probability <= at + reach)
            q = q.where(v.probability < at).order_by(v.probability.desc())
            return q if reach is None else q.where(v.probability >= at - reach)

        sides = [(t, up) for t in thresholds_of(db, pid, focus) for up in (True, False)]
        pool = {key: _records(db.execute(side(*key).limit(k))) for key in sides}
        found = _ranked(r for rows in pool.values() for r in rows)
        if len(found) >= k:
            cut = found[k - 1][2] - 1e-6  # rows that may round to the k-th's priority
            for (t, up), rows in pool.items():
                if len(rows) == k and (confidence_margin(rows[-1]) or 0.0) >= cut:
                    at = 0.5 if t is None else t
                    pool[(t, up)] = _records(db.execute(side(t, up, (1 - cut) * max(at, 1 - at))))
            found = _ranked(r for rows in pool.values() for r in rows)
    return found[:k]


def _columns(v: Any) -> list[Any]:
    return [getattr(v, c.key) for c in RECORD_COLUMNS]


def _records(rows: Iterable[Any]) -> list[VerdictRecord]:
    return [record(r, r.uid, {}, as_utc(r.created_at)) for r in rows]


def _ranked(records: Iterable[VerdictRecord]) -> list[Pick]:
    out: dict[str, Pick] = {}
    for r in records:
        c = confidence_margin(r)
        if c is not None and r.session_id:
            out[r.session_id] = (r.session_id, "uncertainty", round(c, 6))
    return sorted(out.values(), key=lambda p: (-p[2], p[0]))


# --- disagreement -----------------------------------------------------------------------------------


def by_disagreement_sql(
    ws: Workspace, project: str, pid: int, names: list[str], focus: str | None, k: int
) -> list[Pick]:
    picks = _between_evaluators(ws, project, pid, names, focus if focus in names else None, k)
    picks += _with_humans(ws, project, pid, focus, k)
    return sorted(picks, key=lambda p: (-p[2], p[0]))[:k]


def _between_evaluators(
    ws: Workspace, project: str, pid: int, names: list[str], focus: str | None, k: int
) -> list[Pick]:
    if len(names) < 2:
        return []
    champion = champion_of_project(ws, project)
    common = champion[0] if champion and champion[0] in names else most_recent_evaluator(ws, project)
    others = [n for n in names if n != common] or names[1:]
    v = aliased(VerdictRow)
    fresh = derived.refresh(ws, project)
    with ws.reader() as db:
        if fresh:  # the derived table (`monitor.derived`): the same sessions and strengths, walked in
            # the order of its index (strength, then session id) until k candidates are found
            d = derived.disagreements_of(pid, focus).where(candidate(pid, DisagreementRow.session_pk))
            top = d.with_only_columns(DisagreementRow.session_pk)
            order = (DisagreementRow.strength.desc(), by_uid(db, DisagreementRow.uid))
        else:
            grouped = disagreeing(v, pid, others)
            if focus is not None:
                grouped = grouped.having(func.sum(case((v.evaluator == focus, 1), else_=0)) > 0)
            g = grouped.subquery()
            top = (
                select(g.c.session_pk)
                .join(SessionRow, SessionRow.pk == g.c.session_pk)
                .where(candidate(pid, g.c.session_pk))
            )
            order = (g.c.strength.desc(), by_uid(db))
        pks = list(db.scalars(top.order_by(*order).limit(k)))
        rows = db.execute(
            select(SessionRow.uid, v.session_pk, v.label, v.probability)
            .join(SessionRow, SessionRow.pk == v.session_pk)
            .where(latest_ok_on(v, pks), v.label.is_not(None))
        ).all()
    per: dict[str, list[Any]] = {}
    for r in rows:
        per.setdefault(r.uid, []).append(r)
    return [(uid, "disagreement", _split_strength(rs)) for uid, rs in per.items()]


def _split_strength(rows: list[Any]) -> float:
    labels = [int(r.label or 0) for r in rows]
    ones, m = sum(labels), len(labels)
    probs = [r.probability for r in rows if r.probability is not None]
    spread = (max(probs) - min(probs)) if len(probs) >= 2 else 0.0
    return round(2 * min(ones, m - ones) / m * (0.9 + 0.1 * spread), 6)


def _wrong_strength(v: Any) -> Any:
    """SQL: how confidently verdict `v` was wrong, |2p - 1| rounded to 6 decimals (1 without p), as
    `outliers.human_disagreements` gives it."""
    confidence = case((v.probability.is_(None), 1.0), else_=func.abs(2 * v.probability - 1))
    return func.round(cast(confidence, Numeric), 6)


def _with_humans(ws: Workspace, project: str, pid: int, focus: str | None, k: int) -> list[Pick]:
    """Labelled, unqueued sessions whose focus (or any evaluator, without one) contradicts the humans:
    from the derived tables (`monitor.derived`), or when they cannot be refreshed, SQL pages of the
    superset "differs from some binary label", strongest first, each settled by
    `outliers.human_disagreements` over the humans' consensus."""
    if derived.refresh(ws, project):
        return _with_humans_derived(ws, pid, focus, k)
    v, lab = aliased(VerdictRow), aliased(LabelRow)
    strength = _wrong_strength(v)
    binary = lab.kind == "binary"
    differs = or_(and_(lab.good.is_(True), v.label != 1), and_(lab.good.is_(False), v.label != 0))
    picks: dict[str, Pick] = {}
    with ws.reader() as db:
        q = (
            select(SessionRow.uid, strength.label("strength"), *_columns(v))
            .join(SessionRow, SessionRow.pk == v.session_pk)
            .where(latest_ok(v, pid), v.label.is_not(None), not_queued(pid, v.session_pk))
            .where(v.session_pk.in_(select(LabelRow.session_pk).where(LabelRow.project_id == pid)))  # drives
            .where(exists().where(lab.project_id == pid, lab.session_pk == v.session_pk, binary, differs))
            .order_by(strength.desc(), by_uid(db), v.evaluator)
        )
        if focus is not None:
            q = q.where(v.evaluator == focus)
        page, offset = 4 * k, 0
        while len(picks) < k:
            rows = db.execute(q.offset(offset).limit(page)).all()
            offset += page
            labels = project_labels(ws, project, sorted({r.uid for r in rows}))
            human = human_labels(x for labs in labels.values() for x in labs)
            for r in rows:  # in strength order: a session's first wrong row carries its strength
                latest = {r.evaluator: {r.uid: record(r, r.uid, {}, as_utc(r.created_at))}}
                if r.uid not in picks and r.uid in human and human_disagreements(latest, human, focus):
                    picks[r.uid] = (r.uid, "human-disagreement", round(float(r.strength), 6))
                if len(picks) >= k:
                    break
            if len(rows) < page:
                break
    return list(picks.values())


def _with_humans_derived(ws: Workspace, pid: int, focus: str | None, k: int) -> list[Pick]:
    """`_with_humans` over the labelled sessions' consensus and their evaluators' latest ok labels (the
    copies in `labelled_verdicts`, which keep every evaluator version's latest ok verdict): the session's
    strength is its most confident wrong label's, |2p - 1| (1 without a probability)."""
    lv, later, ls = aliased(LabelledVerdictRow), aliased(LabelledVerdictRow), aliased(LabelledSessionRow)
    strength = func.max(_wrong_strength(lv))
    truth = case((ls.human.is_(True), 1), else_=0)
    newer_ok = exists().where(
        later.project_id == pid, later.session_pk == lv.session_pk, later.evaluator == lv.evaluator,
        later.status == "ok", later.verdict_id > lv.verdict_id,
    )  # fmt: skip
    with ws.reader() as db:
        q = (
            select(ls.uid, strength.label("strength"))
            .join(ls, and_(ls.project_id == pid, ls.session_pk == lv.session_pk))
            .where(lv.project_id == pid, lv.status == "ok", lv.label.is_not(None), ~newer_ok)
            .where(ls.human.is_not(None), lv.label != truth, not_queued(pid, lv.session_pk))
            .group_by(ls.uid)
        )
        if focus is not None:
            q = q.where(lv.evaluator == focus)
        rows = db.execute(q.order_by(strength.desc(), by_uid(db, ls.uid)).limit(k)).all()
    return [(r.uid, "human-disagreement", round(float(r.strength), 6)) for r in rows]


# --- random and failure-type ------------------------------------------------------------------------


def by_random_sql(ws: Workspace, pid: int, k: int, seed: int) -> list[Pick]:
    order, uids = _random_order(ws, pid, k, seed)
    return [(uids[pk], "random", round(1 - r / max(len(order), 1), 6)) for r, pk in enumerate(order)]


def _random_order(ws: Workspace, pid: int, k: int, seed: int) -> tuple[list[int], dict[int, str]]:
    """`selection.sample_pks` over the candidates: their pks in sampled order, and {pk: session id}."""
    uids: dict[int, str] = {}
    with ws.reader() as db:
        s = SessionRow
        lo, hi = db.execute(select(func.min(s.pk), func.max(s.pk)).where(s.project_id == pid)).one()
        if lo is None:
            return [], uids

        def accept(pks: Sequence[int]) -> set[int]:
            for start in range(0, len(pks), CHUNK):
                chunk = pks[start : start + CHUNK]
                uids.update(db.execute(_candidates(pid).where(s.pk.in_(chunk))).tuples().all())
            return {pk for pk in pks if pk in uids}

        def everything() -> list[int]:
            uids.update(db.execute(_candidates(pid)).tuples().all())
            return sorted(uids)

        return sample_pks(seed, int(lo), int(hi), k, accept, everything), uids


def _candidates(pid: int) -> Any:
    s = SessionRow
    return select(s.pk, s.uid).where(s.project_id == pid, candidate(pid, s.pk))


def by_failure_type_sql(
    ws: Workspace, project: str, pid: int, focus: str | None, k: int, seed: int
) -> list[Pick]:
    weights = _tag_weights(ws, project, pid, focus)
    if not weights:
        return []
    with ws.reader() as db:
        few = db.execute(_candidates(pid).limit(FAILURE_POOL + 1)).tuples().all()
    if len(few) <= FAILURE_POOL:
        pool = dict(few)
    else:  # a uniform sample of them, ranked in session order as the full list would be
        order, uids = _random_order(ws, pid, FAILURE_POOL, seed)
        pool = {pk: uids[pk] for pk in order}
    candidates = [pool[pk] for pk in sorted(pool)]
    labels = project_labels(ws, project)
    ids = candidates + list(labels)
    texts = {}
    for start in range(0, len(ids), CHUNK):
        texts.update(session_texts(ws, project, ids[start : start + CHUNK]))
    ctx = Context(project, candidates, labels, {}, set(), _latest_of(ws, pid, sorted(pool)), focus, texts)
    return by_failure_type(ws, ctx, k, weights)


def _tag_weights(ws: Workspace, project: str, pid: int, focus: str | None) -> dict[str, float]:
    """`selection.failure_weights` from the sessions with a tagged label (the only ones it weighs)."""
    lab = LabelRow
    with ws.reader() as db:
        tagged = select(lab.session_pk).where(
            lab.project_id == pid, func.json_array_length(lab.failure_tags) > 0
        )
        uids = list(db.scalars(select(SessionRow.uid).where(SessionRow.pk.in_(tagged))))
        pks = list(db.scalars(tagged))
    if not uids:
        return {}
    labels = project_labels(ws, project, uids)
    human = human_labels(lab for labs in labels.values() for lab in labs)
    latest = _latest_of(ws, pid, sorted(set(pks)), focus)
    return failure_weights(Context(project, [], labels, human, set(), latest, focus))


def _latest_of(
    ws: Workspace, pid: int, pks: Sequence[int], name: str | None = None
) -> dict[str, dict[str, VerdictRecord]]:
    """{evaluator: {session id: latest ok verdict}} of the sessions `pks` (of evaluator `name` only)."""
    v = aliased(VerdictRow)
    out: dict[str, dict[str, VerdictRecord]] = {}
    with ws.reader() as db:
        for start in range(0, len(pks), CHUNK):
            q = (
                select(*_columns(v), SessionRow.uid)
                .join(SessionRow, SessionRow.pk == v.session_pk)
                .where(latest_ok(v, pid), v.session_pk.in_(pks[start : start + CHUNK]))
            )
            if name is not None:
                q = q.where(v.evaluator == name)
            for r in db.execute(q):
                out.setdefault(r.evaluator, {})[r.uid] = record(r, r.uid, {}, as_utc(r.created_at))
    return out
