"""Spike detection on a pass-rate series: is this window's failure count more than the past explains?

Each window `i` is compared with a baseline made of the (up to) `baseline_windows` preceding windows
that were neither flagged nor suspect (raw p < `suspect_p`), looking back at most `max_lookback`
windows, so that a drop does not become its own baseline. The overdispersion is estimated on all the
usable windows within `max_lookback`, as an upper confidence bound (`rho_confidence`). Tests, all
one-sided (more failures):

- `betabinomial`: the window's fail count against the beta-binomial predictive of the
  baseline. The spread between windows (overdispersion: traffic mix changes from hour to hour) is
  estimated by the method of moments (intra-class correlation rho); with rho = 0 it is the posterior
  predictive of a binomial rate under a Jeffreys prior, which also carries the baseline's own
  estimation error.
- `binomial`: the classic exact test, P(X >= x | n, p0) with p0 the baseline fail rate.
- `cusum` (default: in benchmarks/loop_spikes.py it finds more drops, sooner, at a similar false-alarm
  rate): a binomial CUSUM of the log-likelihood ratio of "fail odds multiplied by `cusum_odds`" vs
  the baseline, scaled down by the design effect 1 + (n - 1) rho. The alarm threshold h = ln(ARL0)
  guarantees an in-control average run length of at least `arl0` windows (Lorden's bound for
  likelihood-ratio CUSUMs); the statistic is capped at h, so an alarm ends with the first window whose
  evidence turns (its likelihood ratio falls below 1). A flagged window records the change-point
  estimate (`extra["onset"]`: the window after the statistic was last 0), where its alert starts.
- `fixed`: the naive rule, kept as a baseline to beat: alert when the pass rate is `fixed_drop` below
  the baseline's.

Multiplicity: `bh` (Benjamini-Hochberg over every tested window in view: the expected share of false
alerts <= alpha), `bonferroni` (over the windows in view: P(any false alert) <= alpha), `horizon`
(each window at alpha / horizon, decided when the window closes: expected false alerts per `horizon`
windows <= alpha; the online choice) or `none`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from judgeloop.errors import InvalidInput

TestName = Literal["betabinomial", "binomial", "cusum", "fixed"]
Correction = Literal["bh", "bonferroni", "horizon", "none"]
TESTS = ("betabinomial", "binomial", "cusum", "fixed")
CORRECTIONS = ("bh", "bonferroni", "horizon", "none")


@dataclass(frozen=True)
class SpikeConfig:
    """How windows are tested. Defaults suit hourly or daily windows of tens to thousands of verdicts."""

    test: TestName = "cusum"
    alpha: float = 0.05
    correction: Correction = "bh"
    horizon: int = 1000
    baseline_windows: int = 14
    min_baseline_windows: int = 5
    max_lookback: int = 56
    min_n: int = 20
    min_drop: float = 0.0
    suspect_p: float = 0.01
    arl0: float = 1000.0
    cusum_odds: float = 1.5
    fixed_drop: float = 0.05
    max_rho: float = 0.2
    rho_confidence: float = 0.8

    def __post_init__(self) -> None:
        _choice("test", self.test, TESTS)
        _choice("correction", self.correction, CORRECTIONS)
        _in_open_unit("alpha", self.alpha)
        _in_open_unit("suspect_p", self.suspect_p)
        for name in ("horizon", "baseline_windows", "min_baseline_windows", "max_lookback", "min_n"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InvalidInput(
                    f"The '{name}' parameter of SpikeConfig must be an int >= 1. Got {value!r} instead.",
                    field=name,
                )
        if self.arl0 <= 1 or self.cusum_odds <= 1:
            raise InvalidInput(
                "The 'arl0' and 'cusum_odds' parameters of SpikeConfig must be > 1. "
                f"Got {self.arl0!r} and {self.cusum_odds!r} instead.",
                field="arl0",
            )

    @property
    def cusum_h(self) -> float:
        return math.log(self.arl0)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInput(
            f"The '{name}' parameter of SpikeConfig must be one of {', '.join(allowed)}. "
            f"Got {value!r} instead.",
            field=name,
        )


def _in_open_unit(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise InvalidInput(
            f"The '{name}' parameter of SpikeConfig must be a float in (0, 1). Got {value!r} instead.",
            field=name,
        )


@dataclass
class WindowTest:
    """The test of one window. `p_value` is raw; `adjusted` after the multiplicity correction."""

    index: int
    n: int
    fails: int
    baseline_fail_rate: float | None = None
    baseline_n: int = 0
    rho: float = 0.0
    p_value: float | None = None
    adjusted: float | None = None
    statistic: float | None = None
    flagged: bool = False
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def tested(self) -> bool:
        return self.baseline_fail_rate is not None and self.n > 0

    @property
    def pass_rate(self) -> float:
        return 1 - self.fails / self.n if self.n else math.nan

    @property
    def baseline_pass_rate(self) -> float:
        return math.nan if self.baseline_fail_rate is None else 1 - self.baseline_fail_rate

    @property
    def drop(self) -> float:
        return self.baseline_pass_rate - self.pass_rate


# --- statistics ----------------------------------------------------------------------------------


def overdispersion(ns: Sequence[int], fails: Sequence[int], confidence: float | None = None) -> float:
    """Method-of-moments intra-class correlation of fail rates across windows (0 = pure binomial).

    E[sum n_i (r_i - p)^2] = p (1 - p) [(k - 1) + rho (N - sum n_i^2 / N)]. With `confidence`, the
    one-sided upper confidence bound instead, from sum n_i (r_i - p)^2 / (p (1 - p) (1 + (n - 1) rho))
    ~ chi2(k - 1): a few windows easily under-estimate rho, and an under-estimate means false alarms.
    """
    n, x = np.asarray(ns, float), np.asarray(fails, float)
    k, total = len(n), float(n.sum())
    if k < 2 or total <= 0:
        return 0.0
    p = float(x.sum()) / total
    if p <= 0 or p >= 1:
        return 0.0
    spread = float(np.sum(n * (x / n - p) ** 2)) / (p * (1 - p))
    if confidence is not None:
        from scipy.stats import chi2

        spread *= (k - 1) / float(chi2.ppf(1 - confidence, k - 1))
    denom = total - float(np.sum(n**2)) / total
    if denom <= 0:
        return 0.0
    return max(0.0, (spread - (k - 1)) / denom)


def betabinomial_sf(fails: int, n: int, base_fails: int, base_n: int, rho: float) -> float:
    """P(X >= fails) for X ~ BetaBinomial(n, a, b): the predictive of a new window given the baseline.

    The concentration a + b is the baseline size (Jeffreys posterior) or (1 - rho) / rho when the
    windows vary more than a binomial allows, whichever is smaller.
    """
    from scipy.stats import betabinom

    a0, b0 = base_fails + 0.5, base_n - base_fails + 0.5
    if rho > 0:
        c = min(a0 + b0, (1 - rho) / rho)
        p0 = a0 / (a0 + b0)
        a0, b0 = p0 * c, (1 - p0) * c
    return float(betabinom.sf(fails - 1, n, a0, b0))


def binomial_sf(fails: int, n: int, p0: float) -> float:
    from scipy.stats import binom

    return float(binom.sf(fails - 1, n, p0))


def cusum_increment(fails: int, n: int, p0: float, odds: float, rho: float) -> float:
    """Log-likelihood ratio of the window under fail odds x `odds` vs p0, over the design effect."""
    p0 = min(max(p0, 1e-6), 1 - 1e-6)
    p1 = p0 * odds / (1 - p0 + p0 * odds)
    llr = fails * math.log(p1 / p0) + (n - fails) * math.log((1 - p1) / (1 - p0))
    return llr / (1 + (n - 1) * rho)


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """BH adjusted p-values (q-values), in the input order."""
    p = np.asarray(pvalues, float)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return [float(v) for v in out]


# --- the sequential scan -------------------------------------------------------------------------


def _history(ns: Sequence[int], excluded: list[bool], i: int, cfg: SpikeConfig) -> list[int]:
    """Usable windows before i, newest first: non-empty, neither flagged nor suspect, within reach."""
    return [j for j in range(i - 1, max(-1, i - 1 - cfg.max_lookback), -1) if ns[j] > 0 and not excluded[j]]


def _screen_p(t: WindowTest, base_fails: int, cfg: SpikeConfig) -> float:
    p0 = t.baseline_fail_rate or 0.0
    if cfg.test == "binomial":
        return binomial_sf(t.fails, t.n, p0)
    return betabinomial_sf(t.fails, t.n, base_fails, t.baseline_n, t.rho)


def scan(ns: Sequence[int], fails: Sequence[int], cfg: SpikeConfig | None = None) -> list[WindowTest]:
    """Test every window against its own past (sequential: window i only sees windows < i).

    For `bh` and `bonferroni` the flags are set by `adjust_and_flag` (they need every p-value first);
    `horizon`, `none`, `cusum` and `fixed` decide each window as it closes.
    """
    cfg = cfg or SpikeConfig()
    if len(ns) != len(fails):
        raise InvalidInput("ns and fails must have the same length", field="fails")
    excluded = [False] * len(ns)
    out: list[WindowTest] = []
    s, onset = 0.0, 0
    for i, (n, x) in enumerate(zip(ns, fails, strict=True)):
        t = WindowTest(i, int(n), int(x))
        out.append(t)
        history = _history(ns, excluded, i, cfg)
        base = history[: cfg.baseline_windows]
        if len(base) < cfg.min_baseline_windows or n == 0:
            continue
        bn, bx = int(sum(ns[j] for j in base)), int(sum(fails[j] for j in base))
        t.baseline_n, t.baseline_fail_rate = bn, (bx + 0.5) / (bn + 1)
        rho = overdispersion([ns[j] for j in history], [fails[j] for j in history], cfg.rho_confidence)
        t.rho = min(cfg.max_rho, rho)
        t.p_value = _screen_p(t, bx, cfg)
        deff = 1 + (n - 1) * t.rho
        p0 = t.baseline_fail_rate
        t.extra["z"] = (x - n * p0) / math.sqrt(max(n * p0 * (1 - p0) * deff, 1e-12))
        if cfg.test == "cusum":
            s = min(max(0.0, s + cusum_increment(int(x), int(n), p0, cfg.cusum_odds, t.rho)), cfg.cusum_h)
            onset = i + 1 if s == 0 else onset
            t.statistic = s
            t.flagged = s >= cfg.cusum_h
            if t.flagged:
                t.extra["onset"] = float(onset)  # change-point estimate: after the last time S was 0
        else:
            t.statistic = t.extra["z"]
            _decide_now(t, cfg)
        excluded[i] = t.flagged or t.p_value < cfg.suspect_p
    return out


def _decide_now(t: WindowTest, cfg: SpikeConfig) -> None:
    big_enough = t.n >= cfg.min_n
    if cfg.test == "fixed":
        t.flagged = big_enough and t.drop >= cfg.fixed_drop
    elif cfg.correction in ("horizon", "none") and t.p_value is not None:
        t.adjusted = min(1.0, t.p_value * (cfg.horizon if cfg.correction == "horizon" else 1))
        t.flagged = big_enough and t.adjusted <= cfg.alpha and t.drop >= cfg.min_drop


def adjust_and_flag(tests: Sequence[WindowTest], cfg: SpikeConfig) -> None:
    """Apply a whole-view correction (`bh`, `bonferroni`) to tests, possibly from several series."""
    if cfg.test in ("cusum", "fixed") or cfg.correction not in ("bh", "bonferroni"):
        return
    family = [t for t in tests if t.tested and t.p_value is not None and t.n >= cfg.min_n]
    raw = [1.0 if t.p_value is None else float(t.p_value) for t in family]
    adjusted = benjamini_hochberg(raw) if cfg.correction == "bh" else [min(1.0, p * len(raw)) for p in raw]
    for t, q in zip(family, adjusted, strict=True):
        t.adjusted = q
        t.flagged = q <= cfg.alpha and t.drop >= cfg.min_drop


def detect(ns: Sequence[int], fails: Sequence[int], cfg: SpikeConfig | None = None) -> list[WindowTest]:
    """Scan one series and apply the correction: the flagged windows are the alerts."""
    cfg = cfg or SpikeConfig()
    tests = scan(ns, fails, cfg)
    adjust_and_flag(tests, cfg)
    return tests


def episodes(tests: Sequence[WindowTest]) -> list[tuple[int, int]]:
    """Runs of consecutive flagged windows as (first index, last index); empty windows end a run."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for t in tests:
        if t.flagged and start is None:
            start = t.index
        elif not t.flagged and start is not None:
            runs.append((start, t.index - 1))
            start = None
    if start is not None:
        runs.append((start, tests[-1].index))
    return runs
