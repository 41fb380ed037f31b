"""Active selection of the next review batch: which sessions should humans label next?

`select_sessions(ws, project, strategy, n)` returns `(session_id, reason, priority)` tuples, highest
priority first, priorities in [0, 1]. Candidates are the sessions with no human label that are not in
any review queue yet (`disagreement` also re-checks labelled sessions that an evaluator contradicts).
The focus evaluator is `evaluator`, else the project's champion in the registry, else the evaluator
with the most probability verdicts in the project.

- `uncertainty`: the focus evaluator's latest P(good) closest to its threshold, priority
  1 - |p - t| / max(t, 1 - t) (for t = 0.5 this ranks like the binary entropy).
- `disagreement`: evaluators that disagree with each other on an unlabelled session (vote split), or
  with the humans' label on a labelled one (how confidently wrong); see judgeloop.monitor.outliers.
- `failure-type`: the failure tags carried by the labelled sessions the focus evaluator got wrong are
  weighted by their share of those errors; unlabelled sessions are scored by the tags of their k
  nearest labelled neighbours (TF-IDF cosine of input and output text), plus a bonus when a verdict's
  rationale names the tag. Without evaluator errors, the tags of sessions humans marked bad are used.
- `random`: a uniform sample (keeps the labelled set representative, so accuracy estimates stay
  unbiased): `sample_pks` draws pks between the project's lowest and highest and keeps the candidates
  among them, so a sample costs a few index probes, not a read of every session.
- `mixed`: quotas of `MIX` (40% uncertainty, 20% disagreement, 20% failure-type, 20% random); a
  strategy that runs short hands its quota on in the order uncertainty, disagreement, random.

`select_sessions` ranks in SQL (`selection_sql`: each strategy's top n from an index, so its cost stays
near-flat as the project grows); `select_sessions_python` is the reference it is tested against: the
same rankers over every candidate, label and latest verdict read into a `Context`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sqlalchemy import select

from judgeloop.errors import InvalidInput
from judgeloop.monitor.outliers import confidence_margin, evaluator_disagreements, human_disagreements
from judgeloop.monitor.queries import (
    VerdictRecord,
    champion_of_project,
    latest_verdicts,
    project_labels,
    queued_session_ids,
    session_texts,
)
from judgeloop.store import Workspace, human_labels
from judgeloop.store.tables import SessionRow
from judgeloop.types import EvaluatorRef, Label

Strategy = Literal["uncertainty", "disagreement", "failure-type", "random", "mixed"]
STRATEGIES: tuple[str, ...] = ("uncertainty", "disagreement", "failure-type", "random", "mixed")
MIX: dict[str, float] = {"uncertainty": 0.4, "disagreement": 0.2, "failure-type": 0.2, "random": 0.2}
FILL_ORDER = ("uncertainty", "disagreement", "random")
NEIGHBOURS = 5
REASON_MAX = 50
SAMPLE_ROUNDS = 6  # batches of 2n, 4n, ... 64n draws before `sample_pks` reads every candidate
Pick = tuple[str, str, float]


# --- pure rankers (also used by the benchmarks) ---------------------------------------------------


def uncertainty_priority(probs: Sequence[float] | np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """1 on the threshold, 0 at p = 0 or 1."""
    p = np.asarray(probs, float)
    return 1 - np.abs(p - threshold) / max(threshold, 1 - threshold)


def tag_weights(error_tags: Sequence[Sequence[str]]) -> dict[str, float]:
    """Share of the evaluator's errors that carry each failure tag."""
    if not error_tags:
        return {}
    counts = Counter(t for tags in error_tags for t in set(tags))
    return {t: c / len(error_tags) for t, c in counts.most_common()}


def neighbour_tag_scores(
    similarity: np.ndarray,
    neighbour_tags: Sequence[Sequence[str]],
    weights: dict[str, float],
    k: int = NEIGHBOURS,
) -> tuple[np.ndarray, list[str | None]]:
    """Per candidate row: mean over its k most similar labelled sessions of similarity x tag weight,
    and the tag that contributed most."""
    n_cand = similarity.shape[0]
    scores = np.zeros(n_cand)
    top: list[str | None] = [None] * n_cand
    if similarity.size == 0 or not weights:
        return scores, top
    k = min(k, similarity.shape[1])
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    for i in range(n_cand):
        contrib: dict[str, float] = {}
        for j in nearest[i]:
            for t in neighbour_tags[j]:
                if t in weights and similarity[i, j] > 0:
                    contrib[t] = contrib.get(t, 0.0) + float(similarity[i, j]) * weights[t] / k
        if contrib:
            scores[i] = sum(contrib.values())
            top[i] = max(contrib, key=lambda t: (contrib[t], t))
    return scores, top


def blend(
    ranked: dict[str, list[Pick]],
    n: int,
    mix: dict[str, float] | None = None,
    fill: Sequence[str] = FILL_ORDER,
) -> list[Pick]:
    """Take each strategy's quota (round(n * share)) of its ranked picks, no session twice, then fill
    any shortfall from `fill` strategies in order."""
    mix = mix or MIX
    chosen: dict[str, Pick] = {}
    quotas = _quotas(n, mix)
    for name, quota in quotas.items():
        _take(ranked.get(name, []), quota, chosen)
    for name in fill:
        if len(chosen) >= n:
            break
        _take(ranked.get(name, []), n - len(chosen), chosen)
    return sorted(chosen.values(), key=lambda p: -p[2])[:n]


def _quotas(n: int, mix: dict[str, float]) -> dict[str, int]:
    total = sum(mix.values())
    raw = {k: n * v / total for k, v in mix.items()}
    quotas = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: -(raw[k] - quotas[k]))[: n - sum(quotas.values())]:
        quotas[k] += 1
    return quotas


def _take(picks: list[Pick], quota: int, chosen: dict[str, Pick]) -> None:
    taken = 0
    for pick in picks:
        if taken >= quota:
            return
        if pick[0] not in chosen:
            chosen[pick[0]] = pick
            taken += 1


def sample_pks(
    seed: int,
    lo: int,
    hi: int,
    n: int,
    accept: Callable[[Sequence[int]], set[int]],
    everything: Callable[[], list[int]],
) -> list[int]:
    """A uniform sample of up to `n` candidate pks in random order: pks drawn in [lo, hi] (seeded),
    kept when `accept` (given the new draws, sorted) says they are candidates, in draw order; after
    SAMPLE_ROUNDS batches still short (candidates sparse in the range), the rest is a permutation of
    `everything()` (every candidate pk, sorted) not yet taken."""
    rng = np.random.default_rng(seed)
    out: list[int] = []
    taken: set[int] = set()
    probed: set[int] = set()
    for r in range(SAMPLE_ROUNDS):
        draws = [int(d) for d in rng.integers(lo, hi + 1, size=2 * n * 2**r)]
        fresh = sorted(set(draws) - probed)
        probed.update(fresh)
        ok = accept(fresh) if fresh else set()
        for d in draws:
            if d in ok and d not in taken:
                taken.add(d)
                out.append(d)
                if len(out) == n:
                    return out
    rest = [pk for pk in everything() if pk not in taken]
    return out + [rest[i] for i in rng.permutation(len(rest))[: n - len(out)]]


# --- the store side --------------------------------------------------------------------------------


@dataclass
class Context:
    """What the strategies need, read once from the store."""

    project: str
    candidates: list[str]
    labels: dict[str, list[Label]]
    human: dict[str, bool]
    queued: set[str]
    latest: dict[str, dict[str, VerdictRecord]]
    focus: str | None
    texts: dict[str, str] = field(default_factory=dict)
    pks: list[int] = field(default_factory=list)  # the candidates' pks, in the order of `candidates`
    pk_range: tuple[int, int] | None = None  # the project's lowest and highest session pk


def load_context(ws: Workspace, project: str, evaluator: str | None = None) -> Context:
    """Everything the rankers need, read whole (the reference path; see `select_sessions_python`)."""
    labels = project_labels(ws, project)
    queued = queued_session_ids(ws, project)
    with ws.reader() as db:
        pid = ws.project_id(db, project)
        s = SessionRow
        every = db.execute(select(s.uid, s.pk).where(s.project_id == pid).order_by(s.pk)).tuples().all()
    chosen = [(uid, pk) for uid, pk in every if uid not in labels and uid not in queued]
    latest = latest_verdicts(ws, project)
    return Context(
        project,
        [uid for uid, _ in chosen],
        labels,
        human_labels(lab for labs in labels.values() for lab in labs),
        queued,
        latest,
        _focus(ws, project, evaluator, latest),
        pks=[pk for _, pk in chosen],
        pk_range=(every[0][1], every[-1][1]) if every else None,
    )


def _focus(
    ws: Workspace, project: str, evaluator: str | None, latest: dict[str, dict[str, VerdictRecord]]
) -> str | None:
    if evaluator:
        return EvaluatorRef.parse(evaluator).name
    champ = champion_of_project(ws, project)
    if champ is not None and champ[0] in latest:
        return champ[0]
    with_probs = {n: sum(r.probability is not None for r in per.values()) for n, per in latest.items()}
    best = max(with_probs.items(), key=lambda kv: (kv[1], kv[0]), default=None)
    return best[0] if best and best[1] > 0 else None


def by_uncertainty(ctx: Context, n: int) -> list[Pick]:
    verdicts = ctx.latest.get(ctx.focus or "", {})
    if not any(r.probability is not None for r in verdicts.values()):
        raise InvalidInput(
            "uncertainty sampling needs an evaluator with probability verdicts in this project",
            field="evaluator",
            expected="--evaluator NAME, or a champion with verdicts",
        )
    scored = []
    for uid in ctx.candidates:
        r = verdicts.get(uid)
        c = confidence_margin(r) if r is not None else None
        if c is not None:
            scored.append((uid, "uncertainty", round(c, 6)))
    return sorted(scored, key=lambda p: (-p[2], p[0]))[:n]


def by_disagreement(ctx: Context, n: int) -> list[Pick]:
    cand = set(ctx.candidates)
    unlabelled = {name: {u: r for u, r in per.items() if u in cand} for name, per in ctx.latest.items()}
    picks = [
        (o.session_id, "disagreement", o.strength)
        for o in evaluator_disagreements(unlabelled, ctx.focus if ctx.focus in unlabelled else None).values()
    ]
    relabel = {
        name: {u: r for u, r in per.items() if u in ctx.human and u not in ctx.queued}
        for name, per in ctx.latest.items()
    }
    picks += [
        (o.session_id, "human-disagreement", o.strength)
        for o in human_disagreements(relabel, ctx.human, ctx.focus).values()
    ]
    return sorted(picks, key=lambda p: (-p[2], p[0]))[:n]


def by_random(ctx: Context, n: int, seed: int) -> list[Pick]:
    if ctx.pk_range is None:
        return []
    uid_of = dict(zip(ctx.pks, ctx.candidates, strict=True))
    order = sample_pks(seed, *ctx.pk_range, n, lambda pks: set(pks) & uid_of.keys(), lambda: sorted(uid_of))
    return [(uid_of[pk], "random", round(1 - r / max(len(order), 1), 6)) for r, pk in enumerate(order)]


def failure_weights(ctx: Context) -> dict[str, float]:
    """Tag weights from the focus evaluator's errors on labelled sessions (or from bad labels)."""
    tags = {uid: sorted({t for lab in labs for t in lab.failure_tags}) for uid, labs in ctx.labels.items()}
    verdicts = ctx.latest.get(ctx.focus or "", {})
    wrong = [
        uid
        for uid, good in ctx.human.items()
        if uid in verdicts and verdicts[uid].label not in (None, int(good))
    ]
    weights = tag_weights([tags[u] for u in wrong if tags.get(u)])
    if not weights:
        weights = tag_weights([tags[u] for u, good in ctx.human.items() if not good and tags.get(u)])
    return weights


def by_failure_type(
    ws: Workspace, ctx: Context, n: int, weights: dict[str, float] | None = None
) -> list[Pick]:
    """`weights`: the tags' (default: `failure_weights(ctx)`)."""
    weights = failure_weights(ctx) if weights is None else weights
    if not weights or not ctx.candidates:
        return []
    reference = list(ctx.labels)  # every labelled session: untagged neighbours pull the score down
    ref_tags = [sorted({t for lab in ctx.labels[u] for t in lab.failure_tags}) for u in reference]
    texts = ctx.texts or session_texts(ws, ctx.project)
    sim = _tfidf_similarity([texts.get(u, "") for u in ctx.candidates], [texts.get(u, "") for u in reference])
    scores, top = neighbour_tag_scores(sim, ref_tags, weights)
    scores, top = _rationale_bonus(ctx, weights, scores, top)
    if scores.max() <= 0:
        return []
    scores = scores / scores.max()
    picks = [
        (uid, f"failure-type:{tag}"[:REASON_MAX], round(float(s), 6))
        for uid, s, tag in zip(ctx.candidates, scores, top, strict=True)
        if s > 0
    ]
    return sorted(picks, key=lambda p: (-p[2], p[0]))[:n]


def _rationale_bonus(
    ctx: Context, weights: dict[str, float], scores: np.ndarray, top: list[str | None]
) -> tuple[np.ndarray, list[str | None]]:
    """Add half a tag's weight when any evaluator's latest rationale names the tag."""
    scores = scores.copy()
    for i, uid in enumerate(ctx.candidates):
        text = " ".join((per[uid].rationale or "") for per in ctx.latest.values() if uid in per).lower()
        if not text:
            continue
        named = [t for t in weights if t.lower().replace("_", " ").replace("-", " ") in _plain(text)]
        for t in named:
            scores[i] += 0.5 * weights[t]
        if named and top[i] is None:
            top[i] = max(named, key=lambda t: weights[t])
    return scores, top


def _plain(text: str) -> str:
    return text.replace("_", " ").replace("-", " ")


def _tfidf_similarity(candidates: list[str], reference: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not candidates or not reference:
        return np.zeros((len(candidates), len(reference)))
    vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
    vec.fit(candidates + reference)
    a, b = vec.transform(candidates), vec.transform(reference)
    return np.asarray((a @ b.T).toarray())


def select_sessions(
    ws: Workspace, project: str, strategy: str, n: int, evaluator: str | None = None, seed: int = 0
) -> list[Pick]:
    """The next `n` sessions to review by `strategy` (see the module docstring), ranked in SQL."""
    from judgeloop.loop.selection_sql import sql_rankers

    _check(strategy, n)
    if strategy != "mixed":
        return sql_rankers(ws, project, evaluator, seed, strict=True)[strategy](n)
    rankers = sql_rankers(ws, project, evaluator, seed, strict=False)
    return blend({name: rankers[name](n) for name in MIX}, n)


def select_sessions_python(
    ws: Workspace, project: str, strategy: str, n: int, evaluator: str | None = None, seed: int = 0
) -> list[Pick]:
    """`select_sessions` over a `Context` read whole: the reference the SQL rankers are tested against
    (its cost grows with every session, label and verdict of the project)."""
    _check(strategy, n)
    ctx = load_context(ws, project, evaluator)
    if strategy != "mixed":
        return _rankers(ws, ctx, seed, strict=True)[strategy](n)
    rankers = _rankers(ws, ctx, seed, strict=False)
    return blend({name: rankers[name](n) for name in MIX}, n)


def _check(strategy: str, n: int) -> None:
    if strategy not in STRATEGIES:
        raise InvalidInput(
            f"unknown strategy {strategy!r}", field="strategy", expected=" | ".join(STRATEGIES)
        )
    if n < 1:
        raise InvalidInput(f"n must be >= 1, got {n}", field="n")


def _rankers(ws: Workspace, ctx: Context, seed: int, strict: bool) -> dict[str, Callable[[int], list[Pick]]]:
    def uncertainty(k: int) -> list[Pick]:
        if ctx.focus is None and not strict:
            return []
        return by_uncertainty(ctx, k)

    return {
        "uncertainty": uncertainty,
        "disagreement": lambda k: by_disagreement(ctx, k),
        "failure-type": lambda k: by_failure_type(ws, ctx, k),
        "random": lambda k: by_random(ctx, k, seed),
    }
