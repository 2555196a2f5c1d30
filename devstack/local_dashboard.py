"""GET /_local/dashboard: the operations dashboard's panels (ops.dashboard, the same as the CloudWatch
dashboard in template.yaml) charted from the local metrics file, as one HTML page of server-rendered
SVG line charts (hand-written here: no JavaScript, nothing fetched from elsewhere) that reloads itself
every REFRESH_SECONDS.

    ?minutes=30   the window (default 30, at most the store's retention)
    ?period=60    seconds a point (default 60, as in CloudWatch; 10 for a short load run)
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.metrics_store import RETENTION_SECONDS, SLOT_SECONDS, MetricsStore
from ops.dashboard import Panel

PATH = "/_local/dashboard"
REFRESH_SECONDS = 10
WIDTH, HEIGHT = 400, 170
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 8, 20
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
THRESHOLD_COLOUR = "#b00020"
OFF_SCALE = 5  # a threshold more than this many times the data's maximum is not drawn to scale

Series = list[float | None]


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above value."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def render_chart(
    lines: Sequence[tuple[str, Series]], thresholds: Sequence[tuple[str, float]], start: float, period: int
) -> str:
    """One panel's SVG: a line per series (gaps where a period has no data point), the thresholds
    dashed, the y axis from 0 to a round number above everything shown. A threshold far above the
    data (a 30 s timeout over 20 ms durations) is named at the top instead of flattening the lines."""
    points = len(lines[0][1]) if lines else 0
    data_max = max([v for _, s in lines for v in s if v is not None] + [0.0])
    shown = [(label, t) for label, t in thresholds if data_max == 0 or t <= data_max * OFF_SCALE]
    above = [label for label, t in thresholds if (label, t) not in shown]
    y_max = _nice_ceiling(max([data_max] + [t for _, t in shown]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(index: int) -> float:
        return LEFT + (plot_w * index / max(points - 1, 1))

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / y_max)

    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img">']
    for fraction in (0.0, 0.5, 1.0):
        value = y_max * fraction
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="grid"/>'
            f'<text x="{LEFT - 4}" y="{y(value) + 4:.1f}" class="axis" text-anchor="end">{_number(value)}</text>'
        )
    for label, value in shown:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{THRESHOLD_COLOUR}" stroke-dasharray="4 3"/>'
            f'<text x="{WIDTH - RIGHT}" y="{y(value) - 3:.1f}" class="axis" text-anchor="end" '
            f'fill="{THRESHOLD_COLOUR}">{html.escape(label)}</text>'
        )
    for number, label in enumerate(above):
        parts.append(
            f'<text x="{WIDTH - RIGHT}" y="{TOP + 10 + 12 * number}" class="axis" text-anchor="end" '
            f'fill="{THRESHOLD_COLOUR}">{html.escape(label)} (above the scale)</text>'
        )
    for number, (_, series) in enumerate(lines):
        colour = COLOURS[number % len(COLOURS)]
        run: list[str] = []
        for index, point in [*enumerate(series), (points, None)]:
            if point is not None:
                run.append(f"{x(index):.1f},{y(point):.1f}")
                continue
            if len(run) == 1:
                cx, cy = run[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
            elif run:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
            run = []
    for index, anchor in ((0, "start"), (points - 1, "end")):
        if points:
            stamp = time.strftime("%H:%M:%S" if period < 60 else "%H:%M", time.localtime(start + index * period))
            parts.append(
                f'<text x="{x(index):.1f}" y="{HEIGHT - 5}" class="axis" text-anchor="{anchor}">{stamp}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _legend(lines: Sequence[tuple[str, Series]]) -> str:
    items = []
    for number, (label, series) in enumerate(lines):
        latest = next((v for v in reversed(series) if v is not None), None)
        shown = "no data" if latest is None else _number(latest)
        colour = COLOURS[number % len(COLOURS)]
        items.append(f'<span><i style="background:{colour}"></i>{html.escape(label)}: <b>{shown}</b></span>')
    return '<div class="legend">' + "".join(items) + "</div>"


def panel_lines(panel: Panel, store: MetricsStore, start: float, points: int, period: int) -> list[tuple[str, Series]]:
    """The panel's visible series: its metrics, then its metric math."""
    inputs = {m.id: store.series(m, start, points, period) for m in panel.metrics}
    lines = [(m.label, inputs[m.id]) for m in panel.metrics if m.visible]
    lines += [(e.label, store.expression_series(e, inputs, points)) for e in panel.expressions]
    return lines


STYLE = """
body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; background: #fafafa; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 18px 0 6px; color: #444; }
.note { color: #666; margin: 0 0 8px; } .row { display: flex; flex-wrap: wrap; gap: 10px; }
.panel { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 6px 8px; width: 400px; }
.panel h3 { font-size: 13px; margin: 0 0 2px; } .unit { color: #888; font-weight: normal; }
.grid { stroke: #eee; } .axis { font-size: 10px; fill: #777; }
.legend span { margin-right: 10px; white-space: nowrap; }
.legend i { display: inline-block; width: 10px; height: 3px; margin: 0 4px 3px 0; vertical-align: middle; }
"""


class LocalDashboard:
    def __init__(self, panels: Sequence[Panel], store: MetricsStore, notes: Sequence[str] = ()) -> None:
        self.panels, self.store, self.notes = panels, store, list(notes)

    @staticmethod
    def handles(path: str) -> bool:
        return path.rstrip("/") == PATH

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        minutes = _bounded(request.args.get("minutes"), 30, 1, RETENTION_SECONDS // 60)
        period = _bounded(request.args.get("period"), 60, SLOT_SECONDS, 3600) // SLOT_SECONDS * SLOT_SECONDS
        page = self.render(minutes=minutes, period=period)
        return Response(page, 200, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})(
            environ, start_response
        )

    def render(self, minutes: int = 30, period: int = 60, now: float | None = None) -> str:
        now = time.time() if now is None else now
        self.store.refresh(now)
        points = max(minutes * 60 // period, 2)
        start = (now // period - (points - 1)) * period  # the last point is the period in progress
        body = [
            f"<h1>GBC local dashboard</h1><p class='note'>The panels of template.yaml's CloudWatch dashboard "
            f"(ops/dashboard.py), from {html.escape(str(self.store.path))} ({self.store.lines_read} lines): "
            f"the last {minutes} min, a point every {period} s, reloaded every {REFRESH_SECONDS} s. "
            f"<a href='?minutes={minutes}&period=10'>10 s points</a> · "
            f"<a href='?minutes={minutes}&period=60'>60 s points</a></p>",
            *(f"<p class='note'>{html.escape(note)}</p>" for note in self.notes),
        ]
        section = None
        for panel in self.panels:
            if panel.section != section:
                body.append(
                    ("</div>" if section is not None else "")
                    + f"<h2>{html.escape(panel.section)}</h2><div class='row'>"
                )
                section = panel.section
            lines = panel_lines(panel, self.store, start, points, period)
            thresholds = [(t.label, t.value) for t in panel.thresholds]
            body.append(
                f"<div class='panel'><h3>{html.escape(panel.title)} "
                f"<span class='unit'>{html.escape(panel.unit)}</span></h3>"
                f"{render_chart(lines, thresholds, start, period)}{_legend(lines)}</div>"
            )
        body.append("</div>" if section is not None else "")
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='{REFRESH_SECONDS}'>"
            f"<title>GBC local dashboard</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
        )


def _bounded(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(raw), low), high) if raw else default
    except ValueError:
        return default
