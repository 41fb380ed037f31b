"""Spike detection on simulated verdict streams with injected quality drops of known size and time.

    .venv/bin/python -m benchmarks.loop_spikes                # 20 streams per cell, about 5 minutes
    .venv/bin/python -m benchmarks.loop_spikes --streams 5    # quicker

Each stream has 1,000 windows (think hours) of Poisson(200) verdicts with a 85% pass rate, either
binomial (every window has the same rate) or overdispersed (the rate itself varies from window to
window, beta with intra-class correlation 0.003: a sd of about 2 points). Ten drops of `size` points
lasting 8 windows are injected at random times (at least 60 windows apart, none in the first 60).

Per method: detection rate (a drop counts as found when an alert episode starts inside it), mean and
median delay in windows from the drop's first window (0 = flagged in the first dropped window), and
false alarms per 1,000 windows: alert episodes starting outside every drop and the 2 windows after it.
Writes benchmarks/results/loop_spikes.json and loop_spikes.png.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from judgeloop.monitor.spikes import SpikeConfig, detect, episodes

RESULTS = Path(__file__).resolve().parent / "results"
console = Console(highlight=False, markup=False, soft_wrap=True)
WINDOWS, DROPS, LENGTH, GRACE = 1000, 10, 8, 2

METHODS: dict[str, SpikeConfig] = {
    "fixed rule (5 pts below trailing mean)": SpikeConfig(test="fixed", fixed_drop=0.05),
    "fixed rule (8 pts below trailing mean)": SpikeConfig(test="fixed", fixed_drop=0.08),
    "binomial, horizon alpha=0.05/1000": SpikeConfig(test="binomial", correction="horizon", alpha=0.05),
    "beta-binomial, horizon alpha=0.05/1000": SpikeConfig(
        test="betabinomial", correction="horizon", alpha=0.05
    ),
    "beta-binomial, Bonferroni 0.05 (view)": SpikeConfig(
        test="betabinomial", correction="bonferroni", alpha=0.05
    ),
    "beta-binomial, BH q=0.05 (view)": SpikeConfig(test="betabinomial", correction="bh", alpha=0.05),
    "CUSUM odds x1.5, ARL0=1000 (default)": SpikeConfig(test="cusum", arl0=1000),
    "CUSUM odds x2, ARL0=1000": SpikeConfig(test="cusum", arl0=1000, cusum_odds=2.0),
}


def stream(rng: np.random.Generator, rho: float, size: float) -> tuple[np.ndarray, np.ndarray, list[int]]:
    ns = rng.poisson(200, WINDOWS)
    fail = np.full(WINDOWS, 0.15)
    if rho > 0:
        c = (1 - rho) / rho
        fail = rng.beta(0.15 * c, 0.85 * c, WINDOWS)
    starts = drop_starts(rng)
    for s in starts:
        fail[s : s + LENGTH] += size
    return ns, rng.binomial(ns, np.clip(fail, 0, 1)), starts


def drop_starts(rng: np.random.Generator) -> list[int]:
    while True:
        starts = sorted(rng.choice(np.arange(60, WINDOWS - LENGTH), DROPS, replace=False).tolist())
        if all(b - a >= 60 for a, b in zip(starts, starts[1:], strict=False)):
            return starts


def score(runs: list[tuple[int, int]], starts: list[int]) -> tuple[list[int], int, int]:
    """Delays of the detected drops, false alarms, and the windows outside drops."""
    delays, false = [], 0
    onsets = [first for first, _ in runs]
    for s in starts:
        inside = [o for o in onsets if s <= o < s + LENGTH]
        if inside:
            delays.append(inside[0] - s)
    for o in onsets:
        if not any(s <= o < s + LENGTH + GRACE for s in starts):
            false += 1
    return delays, false, WINDOWS - len(starts) * (LENGTH + GRACE)


def run(streams: int, seed: int) -> list[dict[str, object]]:
    rows = []
    for scenario, rho in (("binomial", 0.0), ("overdispersed", 0.003)):
        for size in (0.03, 0.05, 0.10):
            data = [
                stream(np.random.default_rng([seed, int(rho * 1e4), int(size * 100), k]), rho, size)
                for k in range(streams)
            ]
            for name, cfg in METHODS.items():
                t0 = time.perf_counter()
                delays, false, clean = [], 0, 0
                for ns, fails, starts in data:
                    d, f, c = score(episodes(detect(ns.tolist(), fails.tolist(), cfg)), starts)
                    delays += d
                    false += f
                    clean += c
                rows.append(
                    {
                        "scenario": scenario,
                        "drop": size,
                        "method": name,
                        "detected": len(delays) / (streams * DROPS),
                        "mean_delay": float(np.mean(delays)) if delays else None,
                        "median_delay": float(np.median(delays)) if delays else None,
                        "false_per_1000": 1000 * false / clean,
                        "seconds": round(time.perf_counter() - t0, 2),
                    }
                )
                console.print(json.dumps(rows[-1]))
    return rows


def plot(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    for col, scenario in enumerate(("binomial", "overdispersed")):
        for name in METHODS:
            mine = [r for r in rows if r["scenario"] == scenario and r["method"] == name]
            sizes = [100 * float(r["drop"]) for r in mine]  # type: ignore[arg-type]
            axes[0, col].plot(sizes, [r["detected"] for r in mine], marker="o", label=name)
            axes[1, col].plot(sizes, [r["false_per_1000"] for r in mine], marker="o", label=name)
        axes[0, col].set_title(f"{scenario}: share of drops detected (within 8 windows)")
        axes[1, col].set_title(f"{scenario}: false alarms per 1,000 windows")
        axes[1, col].set_yscale("symlog", linthresh=1)
        for ax in axes[:, col]:
            ax.set_xlabel("drop in pass rate (points)")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    rows = run(args.streams, args.seed)
    (RESULTS / "loop_spikes.json").write_text(json.dumps(rows, indent=1))
    plot(rows, RESULTS / "loop_spikes.png")
    console.print(f"done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
