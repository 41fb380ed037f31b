"""The model card (README.md) of a learned pairwise comparator."""

from __future__ import annotations

from typing import Any

from judgeloop.stats import fmt


def _row(name: str, est: Any) -> str:
    if isinstance(est, dict):
        return f"| {name} | {fmt(est['value'])} | [{fmt(est['low'])}, {fmt(est['high'])}] |"
    return f"| {name} | {fmt(est)} | |"


def pairwise_model_card(config: dict[str, Any]) -> str:
    m = config["metrics"].get("heldout") or {}
    lines = [
        f"# {config.get('name') or 'judgeloop pairwise evaluator'}",
        "",
        "A judgeloop learned pairwise evaluator: for one input and two outputs A and B it gives",
        "P(A better), P(tie) and P(B better), learned from human A/B/tie choices. Each output gets a score",
        "s(input, output); the difference goes through a Bradley-Terry link with a Davidson tie term, so",
        "swapping A and B mirrors the probabilities exactly (no position bias). Load it with",
        "`judgeloop.load_evaluator(PATH)`; `judgeloop evaluate`, `POST /v1/compare` and",
        "`judgeloop bench winrate --evaluator PATH` use it.",
        "",
        f"- method: `{config['method']}`; base model: `{config['base_model']}` (frozen embeddings)",
        f"- trained on {config['n_train']} pairs; data snapshot sha256 `{config['data_hash'][:16]}…`",
        f"- temperature {config['temperature']:.3f}, Davidson tie parameter nu {config['nu']:.3f}"
        + (" (no ties in the training pairs: it never predicts a tie)" if not config["nu"] else ""),
        f"- created {config['created_at']}",
    ]
    runtime = config.get("runtime") or {}
    if runtime.get("onnx"):
        kind = "ONNX int8" if runtime.get("quantized") == "int8" else "ONNX fp32"
        gate = f"; {runtime['gate']}" if runtime.get("gate") else ""
        lines.append(f"- served on {kind} (`{runtime['onnx']}`){gate}")
    lines.append("")
    if m:
        lines += [
            f"## Agreement with {m['n']} held-out human choices ({m['human_ties']} ties)"
            + (f", on {runtime.get('metrics_from')}" if runtime.get("metrics_from") else ""),
            "",
            "| metric | value | 95% CI (bootstrap) |",
            "|---|---|---|",
            _row(f"accuracy on decisive pairs (n={m['n_decisive']})", m["accuracy"]),
            _row("agreement including ties", m["agreement"]),
            _row("Cohen's kappa (A/B/tie)", m["kappa"]),
            _row("ECE of P(A better) on decisive pairs", m["ece_decisive"]),
            _row("NLL (A/B/tie)", m["nll"]),
            "",
        ]
    lines += [
        "## Intended use",
        "",
        "Comparing two outputs for inputs like the training pairs (pairwise human evaluation, AlpacaEval-",
        "style win rates). The held-out pairs are listed in `judgeloop.json` (`heldout_ids`).",
        "",
        "## Limits",
        "",
        "- A linear scorer over frozen sentence embeddings and surface features: it sees topic, style and",
        "  length, not whether a fact or a calculation is right.",
        "- It learns the preferences in its training pairs; another task or label policy needs new labels.",
        "- Inputs and outputs longer than the encoder's window are truncated.",
        "",
    ]
    return "\n".join(lines)
