"""`judgeloop report RUN_DIR`: one comparison of every method of a run, as a self-contained HTML page
(the chart is an embedded PNG, no external assets) or as JSON.

Per method: its score with a 95% CI; where human labels exist for the same sessions, its agreement
with the humans (Cohen's kappa for a pass/fail decision, else Spearman's rho, with CIs); and the
lowest-scored rows, to read. Reference metrics carry the caution that they reward wording, not
helpfulness.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.evaluators.reference import REFERENCE_CAUTION

RESULTS_FILE = "results.json"
SHORT_CAUTION = "reference metrics reward wording, not helpfulness"
CLIP = 400


def load_results(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir)
    path = path / RESULTS_FILE if path.is_dir() else path
    if not path.is_file():
        raise InvalidInput("no results", file=str(path), expected="a folder written by `judgeloop run`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not JSON: {exc.msg}", file=str(path), row=exc.lineno) from None
    for key in ("run", "methods", "rows"):
        if key not in data:
            raise InvalidInput(
                "missing field", file=str(path), field=key, expected="results of `judgeloop run`"
            )
    return dict(data)


def _clip(text: Any, n: int = CLIP) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _normalised(method: dict[str, Any]) -> dict[str, float | None] | None:
    score, (low, high) = method.get("score"), method["bounds"]
    if not score or score.get("value") is None:
        return None

    def scale(x: float | None) -> float | None:
        return None if x is None else (x - low) / (high - low)

    return {"value": scale(score["value"]), "low": scale(score.get("low")), "high": scale(score.get("high"))}


def _worst(method: dict[str, Any], rows: dict[str, dict[str, Any]], n: int) -> list[dict[str, Any]]:
    scored = [r for r in method["rows"] if r["status"] == "ok" and r["score"] is not None]
    scored.sort(key=lambda r: (r["score"], str(r["id"])))
    out = []
    for r in scored[:n]:
        row = rows.get(str(r["id"]), {})
        out.append(
            {
                "id": r["id"],
                "score": r["score"],
                "label": r["label"],
                "human": row.get("human"),
                "rationale": _clip(r.get("rationale") or r.get("error")),
                "prompt": _clip(row.get("prompt")),
                "response": _clip(row.get("response")),
            }
        )
    return out


def _agreement(method: dict[str, Any]) -> dict[str, Any] | None:
    agreement = method.get("agreement")
    if not agreement:
        return None
    out: dict[str, Any] = {
        "n": agreement["n"],
        "n_labelled": agreement["n_labelled"],
        "rows": agreement.get("rows", "held-out"),
        "training_rows": agreement.get("training_rows_excluded", agreement.get("training_rows_included", 0)),
    }
    binary, scale = agreement.get("binary"), agreement.get("scale")
    if binary:
        out.update(accuracy=binary["accuracy"], kappa=binary["kappa"], f1=binary["f1"])
        if "roc_auc" in binary:
            out["roc_auc"] = binary["roc_auc"]
    if scale:
        out.update(spearman=scale["spearman"], kendall=scale["kendall"])
    out["headline"] = agreement.get("headline")
    return out


def build_report(results: dict[str, Any], worst: int = 3) -> dict[str, Any]:
    """The report's content, JSON-ready."""
    rows = {str(r["id"]): r for r in results["rows"]}
    methods = []
    for m in results["methods"]:
        methods.append(
            {
                "name": m["name"],
                "kind": m["kind"],
                "description": m["description"],
                "caution": SHORT_CAUTION if m["kind"] == "reference" else m.get("caution"),
                "bounds": m["bounds"],
                "n": m["n"],
                "n_ok": m["n_ok"],
                "n_errors": m["n_errors"],
                "n_abstain": m["n_abstain"],
                "score": m["score"],
                "normalised_score": _normalised(m),
                "pass_rate": m.get("pass_rate"),
                "agreement": _agreement(m),
                "extra": m.get("extra") or {},
                "worst": _worst(m, rows, worst),
            }
        )
    cautions = [REFERENCE_CAUTION] if any(m["kind"] == "reference" for m in methods) else []
    return {"run": results["run"], "human": results.get("human"), "methods": methods, "cautions": cautions}
