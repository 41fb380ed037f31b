"""Small inline SVG charts for the review pages (no JavaScript, no CDN): bars, a kappa heatmap and
estimates with confidence intervals. Every text is escaped; colours come from CSS variables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

ROW = 26
LABEL_W = 130


def _svg(width: int, height: int, body: list[str], title: str, css: str = "") -> str:
    cls = f"chart {css}" if css else "chart"
    return (
        f'<svg class="{cls}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
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


# --- time series (monitoring dashboard) ---------------------------------------------------------

PLOT_W, PLOT_H, PAD_L, PAD_B, PAD_T = 760, 220, 46, 34, 12


def _x(i: int, n: int) -> float:
    inner = PLOT_W - PAD_L - 16
    return PAD_L + (inner * (i + 0.5) / n if n else 0.0)


def _y(v: float, top: float = 1.0) -> float:
    inner = PLOT_H - PAD_B - PAD_T
    return PAD_T + inner * (1 - min(max(v / top if top else 0.0, 0.0), 1.0))


def _axes(labels: Sequence[str], top: float, fmt: str) -> list[str]:
    body = []
    for t in (0.0, 0.5, 1.0):
        y = _y(t * top, top)
        body.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{PLOT_W - 10}" y2="{y:.1f}" class="grid"/>')
        body.append(_text(PAD_L - 6, y + 4, format(t * top, fmt), "axis", "end"))
    step = max(1, len(labels) // 8)
    for i, name in enumerate(labels):
        if i % step == 0:
            body.append(_text(_x(i, len(labels)), PLOT_H - PAD_B + 16, name, "axis", "middle"))
    return body


def columns(labels: Sequence[str], values: Sequence[float], title: str, css: str = "traffic") -> str:
    """Vertical bars, one per time window (traffic)."""
    if not labels:
        return ""
    top = max(values) or 1.0
    width = max(2.0, (PLOT_W - PAD_L - 16) / len(labels) * 0.7)
    body = _axes(labels, top, ".0f")
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        x, y = _x(i, len(labels)) - width / 2, _y(value, top)
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{_y(0, top) - y:.1f}" class="col">'
            f"<title>{escape(name)}: {value:g}</title></rect>"
        )
    return _svg(PLOT_W, PLOT_H, body, title, css)


def rate_line(
    labels: Sequence[str],
    points: Sequence[tuple[float | None, float | None, float | None, bool]],
    title: str,
    marks: Sequence[tuple[int, int, str, str]] = (),
    css: str = "pass-rate",
) -> str:
    """A rate per window (value, low, high, flagged) with its interval as a band; windows without data
    are gaps. `marks` are (first, last window index, link, label) regions drawn behind (alerts)."""
    if not labels:
        return ""
    n = len(labels)
    half = (PLOT_W - PAD_L - 16) / n / 2
    body = []
    for first, last, href, name in marks:
        x0, x1 = _x(first, n) - half, _x(last, n) + half
        body.append(
            f'<a href="{escape(href)}" class="mark-link"><rect x="{x0:.1f}" y="{PAD_T}" '
            f'width="{x1 - x0:.1f}" height="{PLOT_H - PAD_B - PAD_T}" class="alert-band">'
            f"<title>{escape(name)}</title></rect></a>"
        )
    body += _axes(labels, 1.0, ".0%")
    band_top = [(_x(i, n), _y(p[2])) for i, p in enumerate(points) if p[0] is not None and p[2] is not None]
    band_low = [(_x(i, n), _y(p[1])) for i, p in enumerate(points) if p[0] is not None and p[1] is not None]
    if len(band_top) > 1:
        poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in band_top + band_low[::-1])
        body.append(f'<polygon points="{poly}" class="ci-band"/>')
    path, pen = [], "M"
    for i, (value, _, _, _) in enumerate(points):
        if value is None:
            pen = "M"
            continue
        path.append(f"{pen}{_x(i, n):.1f},{_y(value):.1f}")
        pen = "L"
    if path:
        body.append(f'<path d="{" ".join(path)}" class="line"/>')
    for i, (value, low, high, flagged) in enumerate(points):
        if value is None:
            continue
        ci = f" [{low:.0%}, {high:.0%}]" if low is not None and high is not None else ""
        body.append(
            f'<circle cx="{_x(i, n):.1f}" cy="{_y(value):.1f}" r="{5 if flagged else 3.5}" '
            f'class="pt{" flagged" if flagged else ""}"><title>{escape(labels[i])}: {value:.1%}{ci}'
            "</title></circle>"
        )
    return _svg(PLOT_W, PLOT_H, body, title, css)


def share_lines(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], title: str) -> str:
    """Several shares (0..1) per window, one line each (class s0, s1, ...), with a legend."""
    if not labels or not series:
        return ""
    n = len(labels)
    body = _axes(labels, 1.0, ".0%")
    for k, (name, values) in enumerate(series.items()):
        path, pen = [], "M"
        for i, v in enumerate(values):
            if v is None:
                pen = "M"
                continue
            path.append(f"{pen}{_x(i, n):.1f},{_y(v):.1f}")
            pen = "L"
        if path:
            body.append(f'<path d="{" ".join(path)}" class="line s{k}"><title>{escape(name)}</title></path>')
        body.append(f'<rect x="{PAD_L + 150 * k}" y="0" width="10" height="10" class="key s{k}"/>')
        body.append(_text(PAD_L + 150 * k + 14, 9, name, "axis"))
    return _svg(PLOT_W, PLOT_H, body, title, "shares")


def reliability(bins: Sequence[dict[str, float]], title: str, size: int = 260) -> str:
    """A reliability diagram: the positive rate against the mean probability of each bin (dot size ~
    count), with the diagonal of perfect calibration."""
    if not bins:
        return ""
    pad = 34
    inner = size - 2 * pad

    def pos(v: float) -> float:
        return pad + inner * min(max(v, 0.0), 1.0)

    body = [
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" class="frame"/>',
        f'<line x1="{pos(0)}" y1="{size - pos(0)}" x2="{pos(1)}" y2="{size - pos(1)}" class="diag"/>',
    ]
    top = max(b["count"] for b in bins)
    for b in bins:
        r = 3 + 6 * (b["count"] / top) ** 0.5
        body.append(
            f'<circle cx="{pos(b["mean_probability"]):.1f}" cy="{size - pos(b["positive_rate"]):.1f}" '
            f'r="{r:.1f}" class="rel"><title>p {b["low"]:.1f}-{b["high"]:.1f}: n={b["count"]}, mean p '
            f"{b['mean_probability']:.2f}, good {b['positive_rate']:.2f}</title></circle>"
        )
    body += [_text(pos(t), size - pad + 14, f"{t:g}", "axis", "middle") for t in (0, 0.5, 1)]
    body += [_text(pad - 6, size - pos(t) + 4, f"{t:g}", "axis", "end") for t in (0, 0.5, 1)]
    body.append(_text(size / 2, size - 4, "mean P(good)", "axis", "middle"))
    return _svg(size, size, body, title, "reliability")


__all__ = ["bars", "columns", "heatmap", "intervals", "rate_line", "reliability", "share_lines"]
