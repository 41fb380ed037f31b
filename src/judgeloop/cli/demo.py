"""`judgeloop demo`: the whole loop on the bundled e-commerce support data, offline.

import half the labelled sessions → train a custom evaluator → answer as a guardrail → score the other
half as "new traffic" → queue the doubtful verdicts for review → review them (the bundled labels stand
in for the reviewers) → retrain → gated promotion → before/after agreement and automation coverage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

out = Console()

GUARDRAIL_EXAMPLES = [
    (
        "the reset link in my email doesn't work",
        "Sorry about that! Reset links expire after 60 minutes. Request a new one from 'Forgot password?' "
        "on the sign-in page and use it within the hour.",
    ),
    ("How do I check my gift card balance?", "Reply with the card number and PIN and I'll look it up."),
    ("can I return jeans I wore once?", "Not my problem. Read the website."),
]
TARGET_ERROR = 0.05  # the error the automated share is certified for (Learn-then-Test, judgeloop.loop.risk)
DELTA = 0.1  # ... with probability >= 1 - DELTA
REVIEW_BATCH = 30


def demo_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's database and models.")] = Path(
        "demo-out"
    ),
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: a fresh SQLite file in --out).")
    ] = None,
) -> None:
    """Run the loop on bundled data: train, guard, score, review the doubtful, retrain, promote."""
    from judgeloop.assets import DEMO_DATASETS
    from judgeloop.io import Dataset, read_dataset
    from judgeloop.store import Workspace

    out_dir.mkdir(parents=True, exist_ok=True)
    if db is None:
        for old in out_dir.glob("judgeloop.db*"):
            old.unlink()
    url = db or f"sqlite:///{(out_dir / 'judgeloop.db').resolve()}"
    ws = Workspace(url)
    out.print(Rule("1. import: 2/3 of the bundled sessions with their human labels, 1/3 as new traffic"))
    held_back: dict[str, Any] = {}
    n_labelled = 0
    for full in (read_dataset(path) for path in DEMO_DATASETS):
        labelled = [r for i, r in enumerate(full.rows) if i % 3 != 2]
        traffic = [r for i, r in enumerate(full.rows) if i % 3 == 2]
        held_back.update({str(r.session.id): r.label for r in traffic})
        n_labelled += len(labelled)
        ws.import_dataset("shop", Dataset(full.path, labelled))
        ws.import_dataset("shop", Dataset(full.path, [type(r)(r.row, r.session, None) for r in traffic]))
    out.print(f"{n_labelled} labelled sessions, {len(held_back)} unlabelled (labels held back) — {url}")

    out.print(Rule("2. train a custom evaluator on the human labels (held-out agreement)"))
    v1 = _train(ws, out_dir / "models" / "v1")

    out.print(Rule("3. guardrail: verdicts on sessions the model has never seen"))
    _guardrail(v1)

    out.print(Rule("4. score the new traffic and queue the doubtful verdicts for review"))
    queued = _score_and_queue(ws, v1)

    out.print(Rule(f"5. review: {len(queued)} queued sessions get their labels (the held-back ones)"))
    wrong = _review(ws, queued, held_back)
    out.print(f"the reviewers corrected {wrong} of {len(queued)} verdicts the evaluator was unsure about")

    out.print(Rule("6. retrain on all labels; the gate promotes only a better model"))
    from judgeloop.loop.retrain import retrain

    result = retrain(ws, "shop", name="shop", out_dir=out_dir / "models" / "v2", progress=False)
    out.print(f"[bold]{result.status}[/]: {result.reason}")

    out.print(Rule("7. before / after on the same held-out human labels"))
    summary = _before_after(ws, result)
    from judgeloop.cli.demo_monitor import monitor_scenario

    summary["monitor"] = monitor_scenario(ws, out_dir)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    _plot(summary, out_dir / "loop.png")
    out.print(f"summary: {out_dir / 'summary.json'}, chart: {out_dir / 'loop.png'}")


def _train(ws: Any, target: Path) -> Any:
    from judgeloop import registry
    from judgeloop.cli.train import print_metrics
    from judgeloop.training import train_evaluator
    from judgeloop.training.examples import examples_from_project

    examples, group = examples_from_project(ws, "shop", None)
    result = train_evaluator(examples, target, name="shop", stable_split=True, progress=False)
    info = registry.register(ws, "shop", result.out_dir, project="shop", note="demo")
    registry.promote(ws, info.ref, project="shop")
    out.print(
        f"{result.method} on {len(result.train_ids)} labels (grouped by {group}); {info.ref} is champion"
    )
    print_metrics(result)
    return registry.load_evaluator(info.ref, db=ws.url)


def _guardrail(ev: Any) -> None:
    table = Table("input", "output", "verdict", "P(good)", "ms")
    for model_input, model_output in GUARDRAIL_EXAMPLES:
        v = ev.evaluate_llm_session(model_input, model_output)
        verdict = "[green]pass[/]" if v.label else "[red]block[/]"
        table.add_row(
            model_input[:40], model_output[:60] + "…", verdict, f"{v.probability:.2f}", f"{v.latency_ms:.0f}"
        )
    out.print(table)


def _score_and_queue(ws: Any, ev: Any) -> list[str]:
    from judgeloop.loop.queue_fill import fill_queue

    labelled = {s.id for s, _, _ in ws.labelled_sessions("shop")}
    sessions = [s for s in ws.sessions("shop") if s.id not in labelled]
    verdicts = ev.evaluate([(s.model_input, s.model_output) for s in sessions], [s.id for s in sessions])
    ws.add_verdicts("shop", verdicts)
    passed = sum(v.label for v in verdicts)
    out.print(f"scored {len(verdicts)} sessions with {ev.ref}: pass rate {passed / len(verdicts):.1%}")
    report = fill_queue(ws, "shop", "uncertainty", REVIEW_BATCH, queue="doubtful", evaluator="shop")
    out.print(f"queue [bold]{report.queue}[/]: {report.added} least-confident sessions")
    return [sid for sid, _, _ in report.items]


def _review(ws: Any, queued: list[str], held_back: dict[str, Any]) -> int:
    from judgeloop.types import Label

    verdicts = {v.session_id: v for v in ws.verdicts("shop", "shop")}
    wrong = 0
    for sid in queued:
        truth = held_back[sid]
        ws.add_label(
            "shop",
            Label(
                session_id=sid,
                reviewer="demo-reviewer",
                good=truth.good,
                failure_tags=truth.failure_tags,
                comment=truth.comment,
            ),
        )
        wrong += int(verdicts[sid].label != int(truth.good))
    return wrong


def _before_after(ws: Any, result: Any) -> dict[str, Any]:
    from judgeloop import registry
    from judgeloop.loop.risk import calibrate
    from judgeloop.stats import binary_agreement

    v1 = registry.get_version(ws, "shop@1")
    v2 = registry.get_version(ws, result.candidate)
    labelled = {s.id: (s, good) for s, good, _ in ws.labelled_sessions("shop")}
    trained_v1 = set(registry.training_ids(ws, v1))
    ids = [i for i in v2.heldout_ids if i in labelled and i not in trained_v1]
    pairs = [(labelled[i][0].model_input, labelled[i][0].model_output) for i in ids]
    truth = np.array([int(labelled[i][1]) for i in ids])
    table = Table(
        "model", "labels", "accuracy [95% CI]", "kappa", f"auto-decided at ≤{TARGET_ERROR:.0%} error"
    )
    summary: dict[str, Any] = {
        "heldout": len(ids),
        "status": result.status,
        "target_error": TARGET_ERROR,
        "delta": DELTA,
        "models": {},
    }
    for info in (v1, v2):
        ev = registry.load_version(info)
        prob = ev.predict_proba(pairs)
        pred = (prob >= ev.threshold).astype(int)
        agree = binary_agreement(truth, pred, prob, n_resamples=1000)
        rule = calibrate(prob, truth, target=TARGET_ERROR, delta=DELTA, threshold=ev.threshold)
        acc = agree["accuracy"]
        n_train = len(registry.training_ids(ws, info))
        table.add_row(
            info.ref + (" (champion)" if result.champion_after == info.ref else ""),
            str(n_train),
            f"{acc['value']:.3f} [{acc['low']:.3f}, {acc['high']:.3f}]",
            f"{agree['kappa']['value']:.3f}",
            f"{rule.coverage:.0%}" if rule.certified else "none certified",
        )
        summary["models"][info.ref] = {
            "train_labels": n_train,
            "accuracy": acc,
            "kappa": agree["kappa"],
            "coverage": rule.coverage if rule.certified else 0.0,
            "rule": rule.describe(),
        }
    out.print(f"{len(ids)} held-out human labels that neither model trained on")
    out.print(table)
    out.print(
        f"auto-decided: the share of sessions a version may decide without a human, with its error on them "
        f"certified ≤ {TARGET_ERROR:.0%} with probability ≥ {1 - DELTA:.0%} (Learn-then-Test on these "
        f"{len(ids)} held-out labels); the rest get needs_review"
    )
    return summary


def _plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["models"])
    acc = [summary["models"][n]["accuracy"]["value"] for n in names]
    err = [
        [a - summary["models"][n]["accuracy"]["low"] for n, a in zip(names, acc, strict=True)],
        [summary["models"][n]["accuracy"]["high"] - a for n, a in zip(names, acc, strict=True)],
    ]
    cov = [summary["models"][n]["coverage"] for n in names]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    axes[0].bar(names, acc, yerr=err, capsize=6, color=["#9aa7b8", "#3b7dd8"])
    axes[0].set_ylim(0, 1)
    axes[0].set_title(f"accuracy vs {summary['heldout']} held-out human labels")
    axes[1].bar(names, cov, color=["#9aa7b8", "#3b7dd8"])
    axes[1].set_ylim(0, 1)
    axes[1].set_title(f"share auto-decided at ≤{TARGET_ERROR:.0%} error")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
