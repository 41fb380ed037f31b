"""The HTML page of `judgeloop report`: tables, an embedded PNG chart, the worst rows of each method.
Self-contained: inline CSS, the chart as a base64 data URI, every text HTML-escaped."""

from __future__ import annotations

import base64
import io
from html import escape
from typing import Any

from judgeloop.stats import fmt_ci

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}h3{font-size:1rem;margin-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0;width:100%}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f4f4f4}td.num{text-align:right;white-space:nowrap}
.caution{color:#9a4b00;font-size:.85rem}.muted{color:#777;font-size:.85rem}
pre{white-space:pre-wrap;margin:0;font-size:.85rem}img{max-width:100%}
"""


def _num(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def chart_png(methods: list[dict[str, Any]]) -> bytes:
    """Left: each method's mean score scaled to its range (0-1) with its CI; right: agreement with the
    humans (kappa or Spearman, with CIs) where there are human labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [m for m in methods if m.get("normalised_score")]
    agreed = [
        m
        for m in methods
        if m.get("agreement") and (m["agreement"].get("headline") or {}).get("value") is not None
    ]
    panels = 2 if agreed else 1
    height = max(2.5, 0.45 * max(len(scored), len(agreed), 1) + 1.2)
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, height), squeeze=False)
    _bars(
        axes[0][0],
        [(m["name"], m["normalised_score"]) for m in scored],
        "mean score, scaled to the method's range",
        (0, 1),
    )
    if agreed:
        items = [
            (f"{m['name']} ({m['agreement']['headline']['metric']})", m["agreement"]["headline"])
            for m in agreed
        ]
        _bars(axes[0][1], items, "agreement with human labels (kappa / Spearman)", (-1, 1))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _bars(ax: Any, items: list[tuple[str, dict[str, Any]]], title: str, limits: tuple[float, float]) -> None:
    names = [name for name, _ in items][::-1]
    values = [est["value"] for _, est in items][::-1]
    lows = [est["value"] - est["low"] if est.get("low") is not None else 0 for _, est in items][::-1]
    highs = [est["high"] - est["value"] if est.get("high") is not None else 0 for _, est in items][::-1]
    ax.barh(range(len(names)), values, xerr=[lows, highs], color="#4c78a8", capsize=3)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlim(*limits)
    ax.axvline(0, color="#999", linewidth=0.8)
    ax.set_title(title, fontsize=10)


def _methods_table(report: dict[str, Any]) -> str:
    head = (
        "<tr><th>method</th><th>what it measures</th><th>range</th><th>mean score [95% CI]</th>"
        "<th>pass rate [95% CI]</th><th>scored / errors / n/a</th><th>agreement with humans</th></tr>"
    )
    body = []
    human = report.get("human") or {}
    if human.get("n_labelled"):
        body.append(
            f"<tr><td><b>human labels</b></td><td>share labelled good</td><td>0–1</td><td class=num></td>"
            f"<td class=num>{fmt_ci(human.get('pass_rate'))}</td>"
            f"<td class=num>{human['n_labelled']}</td><td></td></tr>"
        )
    for m in report["methods"]:
        caution = f"<div class=caution>{escape(m['caution'])}</div>" if m.get("caution") else ""
        agreement = m.get("agreement")
        agree = "no human labels"
        if agreement and agreement.get("headline"):
            h = agreement["headline"]
            agree = f"{escape(h['metric'])} {fmt_ci(h)} (n={agreement['n']}{_rows_label(agreement)})"
            if agreement.get("accuracy"):
                agree += f"<br>accuracy {fmt_ci(agreement['accuracy'])}"
            if agreement.get("spearman") and h["metric"] != "spearman":
                agree += f"<br>Spearman {fmt_ci(agreement['spearman'])}"
        elif agreement:
            agree = f"too few rows (n={agreement['n']})"
        low, high = m["bounds"]
        body.append(
            f"<tr><td><b>{escape(m['name'])}</b>{caution}</td><td>{escape(m['description'])}</td>"
            f"<td class=num>{low:g}–{high:g}</td><td class=num>{fmt_ci(m['score'])}</td>"
            f"<td class=num>{fmt_ci(m.get('pass_rate'))}</td>"
            f"<td class=num>{m['n_ok']} / {m['n_errors']} / {m['n_abstain']}</td><td>{agree}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _worst_section(method: dict[str, Any]) -> str:
    if not method["worst"]:
        return ""
    rows = "".join(
        f"<tr><td>{escape(str(w['id']))}</td><td class=num>{_num(w['score'])}</td>"
        f"<td class=num>{'' if w['human'] is None else w['human']}</td>"
        f"<td><pre>{escape(w['prompt'])}</pre></td>"
        f"<td><pre>{escape(w['response'])}</pre></td><td><pre>{escape(w['rationale'])}</pre></td></tr>"
        for w in method["worst"]
    )
    return (
        f"<h3>{escape(method['name'])}</h3><table><tr><th>id</th><th>score</th><th>human</th><th>prompt</th>"
        f"<th>response</th><th>why</th></tr>{rows}</table>"
    )


def render_html(report: dict[str, Any]) -> str:
    run = report["run"]
    png = base64.b64encode(chart_png(report["methods"])).decode("ascii")
    extra = "".join(
        f"<p class=muted>{escape(m['name'])}: "
        + ", ".join(
            f"{escape(k)} {_num(v) if isinstance(v, float) else escape(str(v))}"
            for k, v in m["extra"].items()
        )
        + "</p>"
        for m in report["methods"]
        if m["extra"] and m["name"].endswith(":strict")
    )
    cautions = "".join(f"<p class=caution>{escape(c)}</p>" for c in report["cautions"])
    worst = "".join(_worst_section(m) for m in report["methods"])
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>judgeloop run report: {escape(str(run['model']))}</title><style>{CSS}</style></head><body>"
        f"<h1>SFT model evaluation: {escape(str(run['model']))}</h1>"
        f"<p class=muted>{run['n']} prompts from {escape(str(run['prompts']))}; "
        f"{run.get('generated', 0)} generated, {run.get('given', 0)} given with the prompts.</p>"
        f"<h2>Methods side by side</h2>{_methods_table(report)}{extra}{cautions}"
        f"<img alt='methods compared' src='data:image/png;base64,{png}'>"
        f"<h2>Worst cases to read</h2><p class=muted>The lowest-scored rows of each method.</p>{worst}"
        "</body></html>\n"
    )


def _rows_label(agreement: dict[str, Any]) -> str:
    """', held-out (12 training rows left out)' or ', including 12 training rows'; '' when none trained."""
    k = agreement.get("training_rows") or 0
    if agreement.get("rows") == "including training rows":
        return f", including {k} training rows"
    return f", held-out ({k} training rows left out)" if k else ""
