"""Risk control for a cascade of evaluators, and the automation report (per target error).

A cascade asks stage 1 first; a session leaves at the first stage whose confidence max(p, 1 - p)
reaches that stage's certified tau (judgeloop.loop.risk); what no stage decides needs human review.

Certification (`certify_cascade`), two ways, both Learn-then-Test (Angelopoulos et al., 2021):

- `"joint"` (the default): one tau for every stage, chosen on ALL the held-out labels. For each tau of
  `risk.tau_grid()` (fixed before looking at the data) the cascade routed with that tau at every stage
  is a selective classifier; its auto-decided sessions and their errors give the exact binomial p-value
  of H0: error among auto-decided > target, and the same fixed-sequence tests as `risk.calibrate`
  (several starts spaced by the number of auto-decided sessions, Bonferroni) pick the smallest certified
  tau. With probability >= 1 - delta the cascade's error among the sessions it decides is <= target.
  A common tau suits calibrated stages (each judgeloop model is temperature-scaled): a session is
  decided by the first stage that is at least tau sure. No labels are spent on per-stage folds.
- `"folds"`: the held-out labels are split at random into K disjoint folds, one per stage. Stage k is
  certified by Learn-then-Test at level delta / K on the sessions of fold k that reach it (that stages
  1..k-1, certified on other folds, do not decide); by Bonferroni every stage's error among the sessions
  it decides is <= target with probability >= 1 - delta. Each stage gets its own tau, but each sees only
  1/K of the labels (BENCHMARKS.md compares the two).

With one stage both are exactly `risk.calibrate` on all the labels.

Report (`automation_report`). For each target error it gives the certified share (the rule certified on
all the labels, applied to them) and, over repeated random halves (certify on one half, apply to the
other), the mean automated share and the realised error on labels the rule did not see, how often it
stayed within the target, and the share each stage decides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from judgeloop.errors import InvalidInput
from judgeloop.loop.risk import (
    AutomationRule,
    _fixed_sequences,
    _start_indices,
    calibrate,
    clopper_pearson_upper,
    confidence,
    tau_grid,
)

REPORT_TARGETS = (0.01, 0.05, 0.10)
CERTIFY_METHODS = ("joint", "folds")
COMBINE_RULES = ("own", "mean_logit")
REVIEW = -1  # stage index of a session no stage decides


def _logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    return np.log(q / (1 - q))


def check_combine(combine: str) -> str:
    if combine not in COMBINE_RULES:
        raise InvalidInput(
            f"unknown stage score rule {combine!r}", field="combine", expected=" or ".join(COMBINE_RULES)
        )
    return combine


def stage_scores(probs: Sequence[np.ndarray], combine: str = "own") -> list[np.ndarray]:
    """Each stage's score on the sessions that reach it, from the stages' own P(good) on them.

    `own`: a stage's own probability. `mean_logit`: stage k's score is the mean of the logits of stages
    1..k (a later stage sees the earlier ones, an ensemble that costs only the new stage's pass: the
    earlier stages have already scored every session that reaches stage k). The rule is fixed before
    certification, so Learn-then-Test certifies the scores as they are served."""
    check_combine(combine)
    own = [np.asarray(p, dtype=float) for p in probs]
    if combine == "own":
        return own
    logits = [_logit(p) for p in own]
    return [1 / (1 + np.exp(-np.mean(logits[: k + 1], axis=0))) for k in range(len(own))]


def stage_thresholds(thresholds: Sequence[float], combine: str = "own") -> list[float]:
    """The label threshold of each stage's score under `combine` (the sigmoid of the mean logit cut)."""
    check_combine(combine)
    if combine == "own":
        return [float(t) for t in thresholds]
    cuts = [float(_logit(t)) for t in thresholds]
    return [float(1 / (1 + math.exp(-float(np.mean(cuts[: k + 1]))))) for k in range(len(cuts))]


def _uncertified(target: float, delta: float, threshold: float) -> AutomationRule:
    return AutomationRule(
        tau=None,
        target=target,
        delta=delta,
        coverage=0.0,
        empirical_error=None,
        upper_bound=None,
        n_calibration=0,
        n_auto=0,
        n_errors=0,
        threshold=threshold,
    )


def decides(probs: np.ndarray, rule: AutomationRule) -> np.ndarray:
    """Which sessions the stage decides alone under `rule` (confidence >= tau)."""
    if rule.tau is None:
        return np.zeros(len(probs), dtype=bool)
    return confidence(probs) >= rule.tau


def certify_cascade(
    probs: Sequence[np.ndarray],
    thresholds: Sequence[float],
    good: np.ndarray,
    *,
    target: float,
    delta: float,
    seed: int = 0,
    method: str = "joint",
) -> list[AutomationRule]:
    """One certified rule per stage (see the module docstring). `probs[k]`: stage k's P(good) on every
    calibration session; `good`: the humans' labels; `method`: "joint" or "folds"."""
    y = np.asarray(good).astype(int)
    stages = len(probs)
    if stages == 0:
        raise InvalidInput("a cascade needs at least one stage", field="stages", expected="one or more")
    if any(len(p) != len(y) for p in probs):
        raise InvalidInput("every stage must score every calibration session", field="probs")
    if method not in CERTIFY_METHODS:
        raise InvalidInput(
            f"unknown certification method {method!r}", field="method", expected=" or ".join(CERTIFY_METHODS)
        )
    if stages == 1:
        return [calibrate(probs[0], y, target=target, delta=delta, threshold=thresholds[0])]
    if method == "joint":
        return _certify_joint([np.asarray(p, float) for p in probs], thresholds, y, target, delta)
    folds = np.array_split(np.random.default_rng(seed).permutation(len(y)), stages)
    reach = np.ones(len(y), dtype=bool)
    rules = []
    for k in range(stages):
        p = np.asarray(probs[k], float)
        rows = folds[k][reach[folds[k]]]
        if len(rows) == 0:
            rule = _uncertified(target, delta / stages, thresholds[k])
        else:
            rule = calibrate(p[rows], y[rows], target=target, delta=delta / stages, threshold=thresholds[k])
        rules.append(rule)
        reach &= ~decides(p, rule)
    return rules


def _certify_joint(
    probs: list[np.ndarray], thresholds: Sequence[float], y: np.ndarray, target: float, delta: float
) -> list[AutomationRule]:
    """One tau for all stages, by fixed-sequence testing over `tau_grid()` on all the labels."""
    starts = 3
    level = delta / starts
    taus = tau_grid()
    conf = [confidence(p) for p in probs]
    wrong = [(p >= cut).astype(int) != y for p, cut in zip(probs, thresholds, strict=True)]
    counts = np.zeros((len(probs), len(taus)), dtype=int)  # per stage: sessions it decides at each tau
    errors = np.zeros((len(probs), len(taus)), dtype=int)
    for i, tau in enumerate(taus):
        open_ = np.ones(len(y), dtype=bool)
        for k in range(len(probs)):
            take = open_ & (conf[k] >= tau)
            counts[k, i], errors[k, i] = int(take.sum()), int((take & wrong[k]).sum())
            open_ &= ~take
    total, total_errors = counts.sum(axis=0), errors.sum(axis=0)
    best = _fixed_sequences(
        taus, total, total_errors, target, level, _start_indices(total, target, level, starts)
    )
    rules = []
    for k, cut in enumerate(thresholds):
        if best is None:
            rules.append(_uncertified(target, delta, cut))
            continue
        n_auto, n_err = int(counts[k, best]), int(errors[k, best])
        rules.append(
            AutomationRule(
                tau=float(taus[best]),
                target=target,
                delta=delta,
                coverage=n_auto / len(y),
                empirical_error=n_err / n_auto if n_auto else 0.0,
                upper_bound=clopper_pearson_upper(int(total_errors[best]), int(total[best]), level),
                n_calibration=len(y),
                n_auto=n_auto,
                n_errors=n_err,
                threshold=cut,
                starts=starts,
                method="learn-then-test, joint over the cascade: one tau for every stage",
            )
        )
    return rules


def route(
    probs: Sequence[np.ndarray], thresholds: Sequence[float], rules: Sequence[AutomationRule]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(deciding stage index or REVIEW, the deciding stage's P(good), label) per session; a session no
    stage decides keeps the last stage's probability and label."""
    n = len(probs[0])
    stage = np.full(n, REVIEW, dtype=int)
    final = np.asarray(probs[-1], float).copy()
    label = (final >= thresholds[-1]).astype(int)
    open_ = np.ones(n, dtype=bool)
    for k, (p, cut, rule) in enumerate(zip(probs, thresholds, rules, strict=True)):
        p = np.asarray(p, float)
        take = open_ & decides(p, rule)
        stage[take], final[take], label[take] = k, p[take], (p[take] >= cut).astype(int)
        open_ &= ~take
    return stage, final, label


def _apply(
    probs: Sequence[np.ndarray], thresholds: Sequence[float], rules: Sequence[AutomationRule], y: np.ndarray
) -> dict[str, Any]:
    stage, _, label = route(probs, thresholds, rules)
    auto = stage != REVIEW
    n, k = len(y), int(auto.sum())
    return {
        "share": k / n if n else 0.0,
        "error": float((label[auto] != y[auto]).mean()) if k else None,
        "stage_shares": [float((stage == s).mean()) if n else 0.0 for s in range(len(probs))],
    }


def automation_report(
    probs: Sequence[np.ndarray],
    thresholds: Sequence[float],
    good: Sequence[int] | np.ndarray,
    *,
    targets: Sequence[float] = REPORT_TARGETS,
    delta: float = 0.1,
    repeats: int = 20,
    seed: int = 0,
    method: str = "joint",
) -> list[dict[str, Any]]:
    """Per target error: the certified share on all the labels and, over `repeats` random halves, the
    share and realised error on the half the rule was not certified on (see the module docstring)."""
    y = np.asarray(good).astype(int)
    rows = []
    for target in targets:
        rules = certify_cascade(probs, thresholds, y, target=target, delta=delta, seed=seed, method=method)
        full = _apply(probs, thresholds, rules, y)
        shares, errors, stage_shares, within = [], [], [], 0
        rng = np.random.default_rng(seed + 1)
        for _ in range(repeats if len(y) >= 4 else 0):
            order = rng.permutation(len(y))
            cal, test = order[: len(y) // 2], order[len(y) // 2 :]
            split_rules = certify_cascade(
                [p[cal] for p in probs],
                thresholds,
                y[cal],
                target=target,
                delta=delta,
                seed=seed,
                method=method,
            )
            result = _apply([p[test] for p in probs], thresholds, split_rules, y[test])
            shares.append(result["share"])
            stage_shares.append(result["stage_shares"])
            if result["error"] is not None:
                errors.append(result["error"])
            within += int(result["error"] is None or result["error"] <= target)
        rows.append(
            {
                "target": target,
                "delta": delta,
                "n": int(len(y)),
                "certified_share": full["share"],
                "certified_stage_shares": full["stage_shares"],
                "taus": [r.tau for r in rules],
                "calibration_error": full["error"],
                "repeats": len(shares),
                "heldout_share": float(np.mean(shares)) if shares else None,
                "heldout_error": float(np.mean(errors)) if errors else None,
                "heldout_stage_shares": np.mean(stage_shares, axis=0).tolist() if stage_shares else [],
                "within_target": within / len(shares) if shares else None,
            }
        )
    return rows


def report_lines(rows: Sequence[dict[str, Any]], stage_names: Sequence[str] | None = None) -> list[str]:
    """The report as a Markdown table (for model cards and the CLI)."""
    cascade = stage_names is not None and len(stage_names) > 1
    head = "| target error | certified share | held-out share | realised error | within target |"
    rule = "|---|---|---|---|---|"
    if cascade and stage_names is not None:
        head += " " + " | ".join(f"stage {name}" for name in stage_names) + " |"
        rule += "---|" * len(stage_names)
    lines = [head, rule]
    for r in rows:
        line = (
            f"| {r['target']:.0%} | {r['certified_share']:.1%} | {_pct(r['heldout_share'])} | "
            f"{_pct(r['heldout_error'], 2)} | {_pct(r['within_target'], 0)} |"
        )
        if cascade:
            line += " " + " | ".join(f"{s:.1%}" for s in r["certified_stage_shares"]) + " |"
        lines.append(line)
    return lines


def automation_section(
    report: Sequence[dict[str, Any]], stage_names: Sequence[str] | None = None
) -> list[str]:
    """The model card's automation report (per target error), in Markdown."""
    if not report:
        return []
    first = report[0]
    return [
        "## Automation report",
        "",
        f"Per target error: the share certified on all {first['n']} held-out labels (confidence "
        f"{1 - first['delta']:.0%}), and over {first['repeats']} random halves (certified on one half, "
        "applied to the other) the automated share and the realised error on labels the rule did not see,",
        "and how often that error stayed within the target"
        + (" ; the stage columns give the share each stage decides." if stage_names else "."),
        "",
        *report_lines(report, stage_names),
        "",
    ]


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}%}"


# --- from the store ------------------------------------------------------------------------------


def stored_report(
    ws: Any, project: str, evaluator: str, *, delta: float = 0.1, repeats: int = 20
) -> tuple[list[dict[str, Any]], list[str] | None]:
    """The automation report of `evaluator` on the project's held-out human labels (see
    `risk.calibration_data`). A registered cascade is run stage by stage on those sessions, so that the
    report gives the share each stage decides; other evaluators are reported from their stored
    probabilities. Returns the rows and the stage names (None for a single evaluator)."""
    from judgeloop.loop.risk import calibration_data

    data = calibration_data(ws, project, evaluator)
    cascade = _registered_cascade(ws, evaluator)
    if cascade is None:
        rows = automation_report(
            [data["probs"]], [data["threshold"]], data["good"], delta=delta, repeats=repeats
        )
        return rows, None
    sessions = {s.id: s for s in ws.sessions(project)}
    pairs = [(sessions[uid].model_input, sessions[uid].model_output) for uid in data["session_ids"]]
    probs = cascade.stage_probs(pairs)
    rows = automation_report(probs, cascade.thresholds, data["good"], delta=delta, repeats=repeats)
    return rows, list(cascade.stage_names)


def _registered_cascade(ws: Any, evaluator: str) -> Any:
    from judgeloop import registry
    from judgeloop.errors import NotFound

    try:
        info = registry.get_version(ws, evaluator)
    except NotFound:
        return None
    return registry.load_version(info) if info.method == "cascade" else None
