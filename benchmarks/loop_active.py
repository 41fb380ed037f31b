"""Active learning vs random labelling: test accuracy of the evaluator against the number of human labels.

    .venv/bin/python -m benchmarks.loop_active               # 10 seeds, about 10 minutes
    .venv/bin/python -m benchmarks.loop_active --seeds 2     # quicker
    .venv/bin/python -m benchmarks.loop_active --C seed      # C chosen once, on the 50-label seed set
    .venv/bin/python -m benchmarks.loop_active --C 1         # one fixed C

Data: ../shared/datasets/truthfulqa_judge/finetune_truth_train.jsonl (19,880 human truthfulness labels
of answers to 817 questions), as frozen MiniLM embeddings cached by loop_data.py. The evaluator is
judgeloop's default `embedding_head` model: a scikit-learn LogisticRegression on judgeloop's pair
features [q, a, |q - a|, q * a, cos] (judgeloop.training.methods.embedding_head.pair_features). Its C
is chosen by judgeloop's own rule (EmbeddingHead._choose_C: 5-fold CV log-loss over C_GRID) on the
labelled set each time that set has doubled (at 50, 100, 200, 400 and 800 labels) and kept in
between; `--C seed` chooses it once on the seed set, `--C VALUE` fixes it.

Per seed: a quarter of the questions (with all their answers) is the test set, the rest the pool, so
no question is on both sides. A seed set of 50 random pool rows is labelled; then, up to 1,500 labels,
the model is refitted and the next batch of 50 is picked from the unlabelled pool by one of
judgeloop.loop.selection's strategies, using its pure rankers on arrays:
- random: a uniform sample of the unlabelled pool (as selection.by_random);
- uncertainty: highest selection.uncertainty_priority(P(good), threshold 0.5), rounded to 6 digits,
  ties by session id (as selection.by_uncertainty);
- disagreement: vote split between the evaluators, 2 min(k, m - k) / m x (0.9 + 0.1 spread), as
  judgeloop.monitor.outliers.evaluator_disagreements (checked equal on the first batch). A project
  would have other evaluators (an LLM judge, older versions); here the committee is the focus model
  plus 3 heads fitted on bootstrap resamples of the same labels (query by committee). Re-review of
  labelled sessions (the human-disagreement half of by_disagreement) is left out: each row has one
  fixed label, so a second look cannot change it;
- mixed: selection.blend of the rankers' picks with judgeloop's quotas (MIX: 40% uncertainty, 20%
  disagreement, 20% failure-type, 20% random). TruthfulQA labels carry no failure tags, so
  failure-type has nothing to rank (as by_failure_type returns [] without tags) and blend hands its
  quota on to uncertainty; failure-type on its own is therefore not run.
Accuracy (P(good) >= 0.5) on the test rows after each refit; the same seed set, split and C rule for
every strategy of a seed. Writes benchmarks/results/loop_active.json and loop_active.png.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

if not __package__:  # run as `python benchmarks/NAME.py`; `python -m benchmarks.NAME` needs nothing
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np
from rich.console import Console
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from benchmarks.loop_data import CACHE, RESULTS, load
from judgeloop.loop.selection import MIX, Pick, blend, uncertainty_priority
from judgeloop.monitor.outliers import evaluator_disagreements
from judgeloop.monitor.queries import VerdictRecord
from judgeloop.training.methods.embedding_head import EmbeddingHead, pair_features

console = Console(highlight=False, markup=False, soft_wrap=True)
STRATEGIES = ("random", "uncertainty", "disagreement", "mixed")
SEED_SET, BATCH, BUDGET = 50, 50, 1500
TEST_SHARE = 0.25
COMMITTEE = 3  # bootstrap heads beside the focus model
REFERENCE = 1000  # random's accuracy here is the bar
GOAL = 500  # ... to be reached with at most this many labels
THRESHOLD = 0.5


def features() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """judgeloop's pair features of the cached MiniLM embeddings, labels (1 = truthful), question ids."""
    data = load()  # embeds and caches on the first run
    cached = np.load(CACHE)
    q, a = cached["q"].astype(np.float32), cached["a"].astype(np.float32)
    return pair_features(q, a), data.good, data.question_id


class Head:
    """LogisticRegression whose C comes from judgeloop's CV rule: `auto` re-chooses it whenever the
    labelled set has doubled, `seed` chooses it once on the seed set; a number fixes it."""

    def __init__(self, policy: str) -> None:
        self.policy = policy
        self.c = 1.0 if policy in ("auto", "seed") else float(policy)
        self.chosen_at = 0
        self.history: list[tuple[int, float]] = []

    def fit(self, F: np.ndarray, y: np.ndarray) -> LogisticRegression:
        due = self.policy == "auto" and len(y) >= 2 * self.chosen_at
        if due or (self.policy == "seed" and not self.chosen_at):
            self.c = EmbeddingHead(C="auto")._choose_C(F, y)
            self.chosen_at = len(y)
            self.history.append((len(y), self.c))
        return LogisticRegression(C=self.c, max_iter=5000).fit(F, y)


def proba(model: LogisticRegression, F: np.ndarray) -> np.ndarray:
    """P(good) in float64 (sklearn keeps float32 coefficients for float32 features)."""
    z = np.asarray(F @ model.coef_[0], dtype=np.float64) + float(model.intercept_[0])
    return 1 / (1 + np.exp(-z))


def disagreement_strength(P: np.ndarray) -> np.ndarray:
    """Per column of P (evaluators x sessions, focus first): monitor.outliers' vote-split strength, 0
    where all evaluators agree."""
    P = np.asarray(P, dtype=np.float64)
    labels = P >= THRESHOLD
    m = P.shape[0]
    k = labels.sum(axis=0)
    raw = 2 * np.minimum(k, m - k) / m * (0.9 + 0.1 * (P.max(axis=0) - P.min(axis=0)))
    raw[(k == 0) | (k == m)] = 0.0
    return round6(raw)


def round6(x: np.ndarray) -> np.ndarray:
    """Python's round(v, 6), as the rankers apply it (np.round can differ in the last digit)."""
    return np.fromiter((round(float(v), 6) for v in x), float, len(x))


def check_disagreement(P: np.ndarray, limit: int = 300) -> None:
    """The array rule must agree with judgeloop.monitor.outliers.evaluator_disagreements."""
    P = P[:, :limit]
    now = datetime.now()
    latest = {
        f"e{j}": {
            f"{i:06d}": VerdictRecord(
                0,
                f"{i:06d}",
                f"e{j}",
                None,
                int(p >= THRESHOLD),
                float(p),
                None,
                THRESHOLD,
                "ok",
                None,
                now,
                None,
                (),
            )
            for i, p in enumerate(P[j])
        }
        for j in range(P.shape[0])
    }
    theirs = evaluator_disagreements(latest, "e0")
    mine = disagreement_strength(P)
    ours = {f"{i:06d}": float(s) for i, s in enumerate(mine) if s > 0}
    assert ours.keys() == theirs.keys(), "disagreement: different sessions"
    assert all(ours[u] == theirs[u].strength for u in ours), "disagreement: different strengths"


def ranked(ids: np.ndarray, priority: np.ndarray, reason: str, n: int) -> list[Pick]:
    """Top n by (-priority, id) with priority > 0, as the selection rankers sort."""
    order = np.lexsort((ids, -priority))
    order = order[priority[order] > 0][:n]
    return [(f"{ids[i]:06d}", reason, float(priority[i])) for i in order]


def pick(
    strategy: str,
    unlabelled: np.ndarray,
    p_focus: np.ndarray,
    committee: np.ndarray | None,
    rng: np.random.Generator,
    n: int,
) -> np.ndarray:
    """Row indices of the next batch."""

    def random_picks(k: int) -> list[Pick]:
        order = rng.permutation(len(unlabelled))[:k]
        return [(f"{unlabelled[i]:06d}", "random", 1 - r / max(len(order), 1)) for r, i in enumerate(order)]

    def uncertainty(k: int) -> list[Pick]:
        return ranked(unlabelled, round6(uncertainty_priority(p_focus, THRESHOLD)), "uncertainty", k)

    def disagreement(k: int) -> list[Pick]:
        assert committee is not None
        return ranked(unlabelled, disagreement_strength(committee), "disagreement", k)

    if strategy == "random":
        picks = random_picks(n)
    elif strategy == "uncertainty":
        picks = uncertainty(n)
    elif strategy == "disagreement":
        picks = disagreement(n)
        if len(picks) < n:  # fewer disagreements than the batch: top up at random
            have = {p[0] for p in picks}
            picks += [p for p in random_picks(len(unlabelled)) if p[0] not in have][: n - len(picks)]
    else:
        rankers = {"uncertainty": uncertainty, "disagreement": disagreement, "random": random_picks}
        picks = blend({name: rankers[name](n) if name in rankers else [] for name in MIX}, n)
    return np.asarray([int(p[0]) for p in picks])


def curve(
    strategy: str,
    F: np.ndarray,
    y: np.ndarray,
    pool: np.ndarray,
    test: np.ndarray,
    seed_set: np.ndarray,
    seed: int,
    c_policy: str,
) -> dict[str, Any]:
    rng = np.random.default_rng([seed, STRATEGIES.index(strategy)])
    head = Head(c_policy)
    labelled = list(seed_set)
    in_pool = np.zeros(len(y), bool)
    in_pool[pool] = True
    counts, acc, auc = [], [], []
    checked = False
    while True:
        idx = np.asarray(labelled)
        model = head.fit(F[idx], y[idx])
        p_test = proba(model, F[test])
        counts.append(len(idx))
        acc.append(float(np.mean((p_test >= THRESHOLD) == y[test])))
        auc.append(float(roc_auc_score(y[test], p_test)))
        if len(idx) >= BUDGET:
            break
        mask = in_pool.copy()
        mask[idx] = False
        unlabelled = np.nonzero(mask)[0]
        p_focus = proba(model, F[unlabelled])
        committee = None
        if strategy in ("disagreement", "mixed"):
            rows = [p_focus]
            for _ in range(COMMITTEE):
                boot = rng.choice(idx, len(idx), replace=True)
                if len(set(y[boot].tolist())) < 2:
                    boot = idx
                rows.append(
                    proba(LogisticRegression(C=head.c, max_iter=5000).fit(F[boot], y[boot]), F[unlabelled])
                )
            committee = np.vstack(rows)
            if not checked:
                check_disagreement(committee)
                checked = True
        batch = pick(strategy, unlabelled, p_focus, committee, rng, min(BATCH, BUDGET - len(idx)))
        assert len(batch) == min(BATCH, BUDGET - len(idx)) and not np.isin(batch, idx).any()
        labelled += batch.tolist()
    return {"labels": counts, "accuracy": acc, "auc": auc, "C_chosen": head.history}


def split(questions: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 999])
    uq = np.unique(questions)
    test_q = rng.permutation(uq)[: int(round(TEST_SHARE * len(uq)))]
    is_test = np.isin(questions, test_q)
    return np.nonzero(~is_test)[0], np.nonzero(is_test)[0]


def labels_to_reach(labels: list[int], values: np.ndarray, bar: float) -> int | None:
    hit = np.nonzero(np.asarray(values) >= bar - 1e-12)[0]
    return int(labels[hit[0]]) if len(hit) else None


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    labels = runs["random"][0]["labels"]
    at = labels.index(REFERENCE)
    acc = {s: np.array([r["accuracy"] for r in rs]) for s, rs in runs.items()}
    bar = float(acc["random"][:, at].mean())
    out: dict[str, Any] = {"random_at_reference_mean": bar, "strategies": {}}
    for s, a in acc.items():
        per_seed = [labels_to_reach(labels, a[i], acc["random"][i, at]) for i in range(len(a))]
        reached = [v if v is not None else np.inf for v in per_seed]
        goal = labels.index(GOAL)
        out["strategies"][s] = {
            "accuracy_mean": a.mean(axis=0).round(5).tolist(),
            "accuracy_sd": a.std(axis=0, ddof=1).round(5).tolist() if len(a) > 1 else [0.0] * len(labels),
            "labels_to_match_random_at_reference_mean_curve": labels_to_reach(labels, a.mean(axis=0), bar),
            "labels_to_match_random_at_reference_per_seed": per_seed,
            "labels_to_match_random_at_reference_per_seed_median": float(np.median(reached)),
            "accuracy_at_goal_minus_random_at_reference_per_seed": (a[:, goal] - acc["random"][:, at])
            .round(5)
            .tolist(),
            "auc_mean": np.array([r["auc"] for r in runs[s]]).mean(axis=0).round(5).tolist(),
        }
    return out


def plot(runs: dict[str, list[dict[str, Any]]], summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.array(runs["random"][0]["labels"])
    fig, ax = plt.subplots(figsize=(8, 5))
    for s in STRATEGIES:
        st = summary["strategies"][s]
        m, sd = 100 * np.array(st["accuracy_mean"]), 100 * np.array(st["accuracy_sd"])
        ax.plot(labels, m, label=s, lw=1.8)
        ax.fill_between(labels, m - sd, m + sd, alpha=0.15)
    bar = 100 * summary["random_at_reference_mean"]
    ax.axhline(bar, color="k", ls=":", lw=1, label=f"random at {REFERENCE} labels ({bar:.1f}%)")
    ax.axvline(GOAL, color="grey", ls="--", lw=1, label=f"goal: {GOAL} labels")
    ax.set(
        xlabel="human labels used",
        ylabel="test accuracy (%)",
        title=f"TruthfulQA, logistic head on MiniLM pairs: mean ± sd over {len(runs['random'])} seeds",
    )
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument(
        "--C",
        default="auto",
        help="auto (CV rule when the labels double) | seed (CV rule on the seed set) | C",
    )
    ap.add_argument("--out", default="loop_active", help="name of the .json/.png under benchmarks/results")
    args = ap.parse_args()
    t0 = time.perf_counter()
    F, y, questions = features()
    console.print(
        f"{len(y)} rows, {y.mean():.3f} truthful, {len(np.unique(questions))} questions, "
        f"{F.shape[1]} features"
    )
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in STRATEGIES}
    full = []
    for seed in range(args.seeds):
        pool, test = split(questions, seed)
        assert not set(questions[pool].tolist()) & set(questions[test].tolist())
        seed_set = np.random.default_rng([seed, 0]).choice(pool, SEED_SET, replace=False)
        for s in STRATEGIES:
            t = time.perf_counter()
            r = curve(s, F, y, pool, test, seed_set, seed, args.C)
            runs[s].append(r)
            acc = dict(zip(r["labels"], r["accuracy"], strict=True))
            console.print(
                f"seed {seed} {s:12s} acc@50 {acc[50]:.3f} @500 {acc[500]:.3f} @1000 {acc[1000]:.3f} "
                f"@1500 {acc[1500]:.3f}  C {r['C_chosen'] or args.C}  ({time.perf_counter() - t:.0f} s)"
            )
        everything = LogisticRegression(C=1.0, max_iter=5000).fit(F[pool], y[pool])
        full.append(float(np.mean((proba(everything, F[test]) >= THRESHOLD) == y[test])))
        console.print(
            f"seed {seed}: pool {len(pool)}, test {len(test)}, all {len(pool)} labels: {full[-1]:.3f}"
        )
    summary = summarise(runs)
    summary["all_pool_labels_accuracy"] = full
    for s, st in summary["strategies"].items():
        console.print(
            f"{s:12s} labels to match random@{REFERENCE} ({100 * summary['random_at_reference_mean']:.2f}%): "
            f"mean curve {st['labels_to_match_random_at_reference_mean_curve']}, per seed "
            f"{st['labels_to_match_random_at_reference_per_seed']} "
            f"(median {st['labels_to_match_random_at_reference_per_seed_median']})"
        )
    out = {
        "settings": {
            "seeds": args.seeds,
            "seed_set": SEED_SET,
            "batch": BATCH,
            "budget": BUDGET,
            "test_share_of_questions": TEST_SHARE,
            "committee": COMMITTEE,
            "C": args.C,
        },
        "summary": summary,
        "runs": runs,
    }
    (RESULTS / f"{args.out}.json").write_text(json.dumps(out, indent=1))
    plot(runs, summary, RESULTS / f"{args.out}.png")
    console.print(f"done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
