"""How much review can be automated: a confidence threshold with a risk guarantee.

The rule: the evaluator decides alone when its confidence max(p, 1 - p) >= tau; every other session
needs human review. tau is chosen on held-out human labels (the calibration set) so that

    P( error rate among auto-decided sessions > target ) <= delta

by Learn-then-Test (Angelopoulos et al., 2021) for the selective risk R(tau) = P(wrong | conf >= tau):

1. A grid of candidate tau, fixed before looking at the data (uniform in log-odds of the confidence).
2. For each tau, with n_tau auto-decided calibration sessions and k_tau errors among them, the exact
   binomial p-value of H0: R(tau) > target is P(Binomial(n_tau, target) <= k_tau) (conditionally on
   n_tau the selected sessions are i.i.d., so their errors are binomial; this is the Clopper-Pearson
   test).
3. Fixed-sequence testing from the most confident tau downwards: reject while p <= delta, stop at the
   first failure. One failure near the top would stop a single sequence early (with noisy labels the
   most confident few dozen sessions can hold an error), so `starts` sequences begin at geometrically
   spaced numbers of auto-decided sessions and each runs at delta / starts (Bonferroni); their starts
   depend only on the calibration confidences, never on the labels. The union of rejections has
   family-wise error <= delta, so the smallest rejected tau is certified.

If nothing is certified the rule sends everything to review (tau = None). `needs_review(p, rule)` applies it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from judgeloop.errors import InvalidInput
from judgeloop.types import EvaluatorRef

METHOD = "learn-then-test: fixed-sequence exact binomial tests over a log-odds grid"
GRID_SIZE = 400
GRID_MAX_LOGIT = 10.0


@dataclass(frozen=True)
class AutomationRule:
    """Auto-decide when max(p, 1 - p) >= tau (label: good when p >= threshold); else needs review."""

    tau: float | None
    target: float
    delta: float
    coverage: float
    empirical_error: float | None
    upper_bound: float | None
    n_calibration: int
    n_auto: int
    n_errors: int
    threshold: float = 0.5
    starts: int = 3
    method: str = METHOD
    evaluator: str | None = None

    @property
    def certified(self) -> bool:
        return self.tau is not None

    def review_band(self) -> tuple[float, float] | None:
        """The probability band (1 - tau, tau) that needs review; (0, 1) when nothing is certified."""
        return (0.0, 1.0) if self.tau is None else (1 - self.tau, self.tau)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AutomationRule:
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in fields})

    def describe(self) -> str:
        if self.tau is None:
            return (
                f"no threshold certified: error <= {self.target:.1%} could not be shown with confidence "
                f"{1 - self.delta:.0%} on {self.n_calibration} human labels; everything needs review"
            )
        return (
            f"auto-decide when max(p, 1-p) >= {self.tau:.4f}: coverage {self.coverage:.1%} "
            f"({self.n_auto}/{self.n_calibration}), calibration error {self.empirical_error:.2%}, "
            f"upper bound {self.upper_bound:.2%} <= target {self.target:.1%} with confidence "
            f"{1 - self.delta:.0%}"
        )


def needs_review(prob: float, rule: AutomationRule) -> bool:
    """True when the evaluator may not decide alone: its confidence is below the certified tau."""
    if rule.tau is None:
        return True
    return max(prob, 1 - prob) < rule.tau


def confidence(prob: Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(prob, float)
    return np.maximum(p, 1 - p)


def tau_grid(size: int = GRID_SIZE, max_logit: float = GRID_MAX_LOGIT) -> np.ndarray:
    """Candidate thresholds from most to least confident: sigmoid of an even log-odds grid, down to 0.5."""
    return 1 / (1 + np.exp(-np.linspace(max_logit, 0.0, size)))


def binomial_pvalue(errors: int, n: int, target: float) -> float:
    """p-value of H0: risk > target after `errors` in `n` (P(Binomial(n, target) <= errors))."""
    from scipy.stats import binom

    return 1.0 if n == 0 else float(binom.cdf(errors, n, target))


def clopper_pearson_upper(errors: int, n: int, delta: float) -> float:
    """One-sided (1 - delta) upper confidence bound of a binomial rate."""
    from scipy.stats import beta

    if n == 0:
        return 1.0
    return 1.0 if errors >= n else float(beta.ppf(1 - delta, errors + 1, n - errors))


def min_testable(target: float, level: float) -> int:
    """Fewest auto-decided sessions for which zero errors can reject at `level`."""
    return math.ceil(math.log(level) / math.log(1 - target))


def _check(probs: np.ndarray, good: np.ndarray, target: float, delta: float, threshold: float) -> None:
    if len(probs) != len(good):
        raise InvalidInput(f"{len(probs)} probabilities but {len(good)} labels", field="labels")
    if len(probs) == 0:
        raise InvalidInput("no calibration data", field="probabilities", expected="held-out human labels")
    if np.any(~np.isfinite(probs)) or np.any((probs < 0) | (probs > 1)):
        raise InvalidInput("probabilities must lie in [0, 1]", field="probabilities")
    for name, value in (("target", target), ("delta", delta), ("threshold", threshold)):
        if not 0 < value < 1:
            raise InvalidInput(
                f"The '{name}' parameter must be a float in (0, 1). Got {value!r} instead.", field=name
            )


def calibrate(
    probs: Sequence[float] | np.ndarray,
    good: Sequence[int] | Sequence[bool] | np.ndarray,
    *,
    target: float = 0.05,
    delta: float = 0.1,
    threshold: float = 0.5,
    starts: int = 3,
    evaluator: str | None = None,
) -> AutomationRule:
    """The smallest certified tau on calibration data (P(good) and the humans' good/bad)."""
    p, y = np.asarray(probs, float), np.asarray(good).astype(int)
    _check(p, y, target, delta, threshold)
    if starts < 1:
        raise InvalidInput(
            f"The 'starts' parameter must be an int >= 1. Got {starts!r} instead.", field="starts"
        )
    conf = confidence(p)
    wrong = (p >= threshold).astype(int) != y
    taus = tau_grid()
    counts, errors = _selected_counts(conf, wrong, taus)
    level = delta / starts
    best = _fixed_sequences(
        taus, counts, errors, target, level, _start_indices(counts, target, level, starts)
    )
    return _rule(best, taus, counts, errors, len(p), target, delta, level, threshold, starts, evaluator)


def _selected_counts(conf: np.ndarray, wrong: np.ndarray, taus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each tau: how many sessions have conf >= tau, and how many of those are wrong."""
    order = np.argsort(-conf, kind="stable")
    ranked = conf[order]
    cum_wrong = np.concatenate([[0], np.cumsum(wrong[order])])
    counts = np.searchsorted(-ranked, -taus, side="right")
    return counts.astype(int), cum_wrong[counts].astype(int)


def _start_indices(counts: np.ndarray, target: float, level: float, starts: int) -> list[int]:
    """Grid positions where each sequence begins: first tau with n_tau >= n_min * r^j, r spreading the
    starts geometrically between n_min and half the calibration set."""
    n_min, n = min_testable(target, level), int(counts[-1])
    ratio = max(2.0, (n / 2 / n_min) ** (1 / max(starts - 1, 1))) if starts > 1 else 1.0
    out = []
    for j in range(starts):
        need = n_min * ratio**j
        hits = np.nonzero(counts >= need)[0]
        if len(hits):
            out.append(int(hits[0]))
    return sorted(set(out))


def _fixed_sequences(
    taus: np.ndarray, counts: np.ndarray, errors: np.ndarray, target: float, level: float, starts: list[int]
) -> int | None:
    """Index of the smallest tau rejected by any sequence, or None."""
    from scipy.stats import binom

    pvalues = np.where(counts > 0, binom.cdf(errors, np.maximum(counts, 1), target), 1.0)
    best: int | None = None
    for s in starts:
        for i in range(s, len(taus)):
            if pvalues[i] > level:
                break
            best = i if best is None else max(best, i)
    return best


def _rule(
    best: int | None,
    taus: np.ndarray,
    counts: np.ndarray,
    errors: np.ndarray,
    n: int,
    target: float,
    delta: float,
    level: float,
    threshold: float,
    starts: int,
    evaluator: str | None,
) -> AutomationRule:
    if best is None:
        return AutomationRule(
            tau=None,
            target=target,
            delta=delta,
            coverage=0.0,
            empirical_error=None,
            upper_bound=None,
            n_calibration=n,
            n_auto=0,
            n_errors=0,
            threshold=threshold,
            starts=starts,
            evaluator=evaluator,
        )
    k, e = int(counts[best]), int(errors[best])
    return AutomationRule(
        tau=float(taus[best]),
        target=target,
        delta=delta,
        coverage=k / n,
        empirical_error=e / k,
        upper_bound=clopper_pearson_upper(e, k, level),
        n_calibration=n,
        n_auto=k,
        n_errors=e,
        threshold=threshold,
        starts=starts,
        evaluator=evaluator,
    )


def evaluate_rule(
    rule: AutomationRule, probs: Sequence[float] | np.ndarray, good: Sequence[int] | np.ndarray
) -> dict[str, float]:
    """Coverage and realised error of a rule on other data (for benchmarks and reports)."""
    p, y = np.asarray(probs, float), np.asarray(good).astype(int)
    auto = np.array([not needs_review(float(x), rule) for x in p], dtype=bool)
    wrong = (p >= rule.threshold).astype(int) != y
    k = int(auto.sum())
    return {
        "n": int(len(p)),
        "coverage": k / len(p) if len(p) else math.nan,
        "error": float(wrong[auto].mean()) if k else math.nan,
        "errors": int(wrong[auto].sum()),
        "overall_error": float(wrong.mean()) if len(p) else math.nan,
    }


# --- from the store ------------------------------------------------------------------------------

SETTING = "automation"


def calibration_data(
    ws: Any,
    project: str,
    evaluator: str,
    *,
    humans: dict[str, bool] | None = None,
    labelled: Sequence[Any] | None = None,
    count_verdicts: bool = True,
) -> dict[str, Any]:
    """The evaluator's latest ok probabilities on human-labelled sessions it did not train on.

    Only the labelled sessions' verdicts are read (`load_records(labelled=True)`), or the ones
    given in `labelled` (by id, any evaluator), with the human consensus `humans` when given.
    "verdicts" is the number of sessions with an ok verdict of the evaluator (a SQL count; None without
    `count_verdicts`)."""
    from judgeloop.monitor.queries import load_records, scored_sessions, split_ref, training_ids
    from judgeloop.store import human_labels

    name, version = split_ref(evaluator)
    human = humans if humans is not None else human_labels(ws.labels(project))
    latest: dict[str, Any] = {}
    for v in (
        labelled
        if labelled is not None
        else load_records(ws, project, evaluator, labelled=True, session_meta=False)
    ):
        mine = v.evaluator == name and (not version or v.version == version)
        if mine and v.session_id and v.status == "ok":
            latest[v.session_id] = v  # by id: the last one wins
    trained = training_ids(ws, name, version)
    rows = [(uid, r) for uid, r in latest.items() if uid in human and r.probability is not None]
    kept = [(uid, r) for uid, r in rows if uid not in trained]
    count = scored_sessions(ws, project, evaluator) if count_verdicts else None
    if not kept:
        scored = "" if count is None else f"{count} sessions with a verdict, "
        raise InvalidInput(
            f"evaluator {evaluator!r} has no probability verdicts on human-labelled sessions it did not "
            f"train on in project {project!r} ({scored}{len(human)} labelled sessions)",
            field="evaluator",
            expected="verdicts with a probability on held-out labelled sessions",
        )
    thresholds = [r.threshold for _, r in kept if r.threshold is not None]
    return {
        "session_ids": [uid for uid, _ in kept],
        "probs": np.array([float(r.probability or 0.0) for _, r in kept]),
        "good": np.array([int(human[uid]) for uid, _ in kept]),
        "threshold": float(np.median(thresholds)) if thresholds else 0.5,
        "excluded_training": len(rows) - len(kept),
        "verdicts": count,
    }


def automation_rule(
    ws: Any,
    project: str,
    evaluator: str,
    *,
    target: float = 0.05,
    delta: float = 0.1,
    starts: int = 3,
    save: bool = False,
) -> tuple[AutomationRule, dict[str, Any]]:
    """Certify a rule for `evaluator` from its stored verdicts vs the project's human labels.

    Returns the rule and facts about the data (verdicts, excluded training sessions). `save=True` stores
    the rule in the project's settings under `automation.<evaluator name>` for the serving path.
    """
    data = calibration_data(ws, project, evaluator)
    rule = calibrate(
        data["probs"],
        data["good"],
        target=target,
        delta=delta,
        threshold=data["threshold"],
        starts=starts,
        evaluator=evaluator,
    )
    if save:
        save_rule(ws, project, rule)
    facts = {k: data[k] for k in ("excluded_training", "verdicts", "threshold")}
    return rule, facts


def save_rule(ws: Any, project: str, rule: AutomationRule) -> None:
    name = EvaluatorRef.parse(rule.evaluator).name if rule.evaluator else ""
    rules = dict(ws.project_settings(project).get(SETTING) or {})
    rules[name] = rule.as_dict()
    ws.update_project_settings(project, **{SETTING: rules})


def load_rule(ws: Any, project: str, evaluator: str) -> AutomationRule | None:
    """The rule saved for `evaluator` (name or name@version) in the project's settings, if any."""
    rules = ws.project_settings(project).get(SETTING) or {}
    data = rules.get(EvaluatorRef.parse(evaluator).name)
    return AutomationRule.from_dict(data) if data else None
