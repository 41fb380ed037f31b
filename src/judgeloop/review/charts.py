"""Small inline SVG charts for the review pages (no JavaScript, no CDN): bars, a kappa heatmap and
estimates with confidence intervals. Every text is escaped; colours come from CSS variables."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

ROW = 26
LABEL_W = 130


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, cls: str = "", anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'


def bars(rows: Sequence[tuple[str, float]], title: str, width: int = 520, unit: str = "") -> str:
    """Horizontal bars, one per (label, value)."""
    if not rows:
        return ""
    top = max(v for _, v in rows) or 1.0
    span = width - LABEL_W - 60
    body = []
    for i, (name, value) in enumerate(rows):
        y = i * ROW + 4
        w = max(2.0, span * value / top)
        body.append(_text(LABEL_W - 8, y + 15, name[:18], "lbl", "end"))
        body.append(
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{ROW - 10}" rx="4" class="bar"/>'
        )
        body.append(_text(LABEL_W + w + 6, y + 15, f"{value:g}{unit}", "val"))
    return _svg(width, len(rows) * ROW + 8, body, title)


def _heat_class(value: float | None) -> str:
    if value is None:
        return "h-na"
    for bound, cls in ((0.8, "h-5"), (0.6, "h-4"), (0.4, "h-3"), (0.2, "h-2"), (0.0, "h-1")):
        if value >= bound:
            return cls
    return "h-0"


def heatmap(reviewers: Sequence[str], pairs: Sequence[dict[str, Any]], title: str) -> str:
    """A reviewer x reviewer grid of Cohen's kappa (blank where two reviewers share no item)."""
    if len(reviewers) < 2:
        return ""
    kappa = {}
    for p in pairs:
        kappa[(p["a"], p["b"])] = kappa[(p["b"], p["a"])] = p["kappa"]
    cell, left, top = 46, LABEL_W, 70
    body = []
    for j, name in enumerate(reviewers):
        x = left + j * cell + cell / 2
        body.append(f'<text x="{x:.1f}" y="{top - 8}" class="lbl" transform="rotate(-40 {x:.1f} {top - 8})">')
        body.append(f"{escape(name[:14])}</text>")
    for i, a in enumerate(reviewers):
        y = top + i * cell
        body.append(_text(left - 8, y + cell / 2 + 4, a[:18], "lbl", "end"))
        for j, b in enumerate(reviewers):
            value = 1.0 if a == b else kappa.get((a, b))
            cls = "h-self" if a == b else _heat_class(value)
            x = left + j * cell
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell - 3}" height="{cell - 3}" rx="5" class="{cls}"/>'
            )
            if a != b and value is not None:
                body.append(_text(x + (cell - 3) / 2, y + cell / 2 + 3, f"{value:.2f}", "cell", "middle"))
    size = len(reviewers) * cell
    return _svg(left + size + 10, top + size + 6, body, title)


def intervals(rows: Sequence[tuple[str, float | None, float | None, float | None]], title: str) -> str:
    """Estimates with 95% CIs on a -1..1 axis (kappa) or 0..1 (accuracy), one row each."""
    rows = [r for r in rows if r[1] is not None]
    if not rows:
        return ""
    lo = -0.2 if any((r[2] if r[2] is not None else r[1] or 0) < 0 for r in rows) else 0.0
    width, left, right = 560, LABEL_W + 40, 40
    span = width - left - right

    def xpos(v: float) -> float:
        return left + span * (min(max(v, lo), 1.0) - lo) / (1.0 - lo)

    body = [
        f'<line x1="{xpos(t):.1f}" y1="0" x2="{xpos(t):.1f}" y2="{len(rows) * ROW}" class="grid"/>'
        for t in (lo, 0.5, 1.0)
    ]
    for i, (name, value, low, high) in enumerate(rows):
        y = i * ROW + ROW / 2
        body.append(_text(left - 48, y + 4, name[:22], "lbl", "end"))
        if low is not None and high is not None:
            body.append(f'<line x1="{xpos(low):.1f}" y1="{y}" x2="{xpos(high):.1f}" y2="{y}" class="ci"/>')
        body.append(f'<circle cx="{xpos(value or 0):.1f}" cy="{y}" r="5" class="dot"/>')
        body.append(_text(left - 8, y + 4, f"{value:.2f}", "val", "end"))
    body += [_text(xpos(t), len(rows) * ROW + 14, f"{t:g}", "axis", "middle") for t in (lo, 0.5, 1.0)]
    return _svg(width, len(rows) * ROW + 20, body, title)


__all__ = ["bars", "heatmap", "intervals"]
