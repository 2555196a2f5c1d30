"""The CloudWatch dashboard body from the one panel definition (ops.dashboard), kept in template.yaml
as the Dashboard resource's `DashboardBody: !Sub |` block.

    python -m ops.cloudwatch_dashboard           rewrite that block (make dashboard)
    python -m ops.cloudwatch_dashboard --check   exit 1 when the template differs from the module

Only the block is rewritten, nothing else of template.yaml. Each widget is one line of JSON, so a
change shows as a readable diff. Dimension values are !Sub references (${ApiFunction},
${JobsQueue.QueueName}, ${AWS::StackName}-api), resolved by CloudFormation at deploy time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from devstack.template import TEMPLATE, load_raw
from ops.dashboard import Panel, Ref, dashboard_panels

RESOURCE = "Dashboard"
BODY_KEY = "      DashboardBody: !Sub |"
BODY_INDENT = " " * 8
GRID_WIDTH = 24
PANEL_WIDTH = 8
PANEL_HEIGHT = 6


def _metric_rows(panel: Panel) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for metric in panel.metrics:
        row: list[Any] = [metric.namespace, metric.name]
        for key, value in metric.dimensions:
            row += [key, value.sub() if isinstance(value, Ref) else value]
        options: dict[str, Any] = {"id": metric.id, "stat": metric.stat, "label": metric.label}
        if not metric.visible:
            options["visible"] = False
        rows.append([*row, options])
    rows += [[{"expression": e.expression, "id": e.id, "label": e.label}] for e in panel.expressions]
    return rows


def _widget(panel: Panel, x: int, y: int) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "title": panel.title,
        "region": "${AWS::Region}",
        "view": "timeSeries",
        "stacked": False,
        "period": panel.period,
        "metrics": _metric_rows(panel),
        "yAxis": {"left": {"label": panel.unit, "showUnits": False, "min": 0}},
    }
    if panel.thresholds:
        properties["annotations"] = {"horizontal": [{"label": t.label, "value": t.value} for t in panel.thresholds]}
    return {"type": "metric", "x": x, "y": y, "width": PANEL_WIDTH, "height": PANEL_HEIGHT, "properties": properties}


def widgets(panels: tuple[Panel, ...]) -> list[dict[str, Any]]:
    """A heading per section, then its panels three to a row."""
    out: list[dict[str, Any]] = []
    y, x, section = 0, 0, None
    for panel in panels:
        if panel.section != section:
            y += 0 if section is None else PANEL_HEIGHT  # below the previous section's last row
            section = panel.section
            out.append(
                {
                    "type": "text",
                    "x": 0,
                    "y": y,
                    "width": GRID_WIDTH,
                    "height": 1,
                    "properties": {"markdown": f"### {section}"},
                }
            )
            y, x = y + 1, 0
        elif x + PANEL_WIDTH > GRID_WIDTH:
            y, x = y + PANEL_HEIGHT, 0
        out.append(_widget(panel, x, y))
        x += PANEL_WIDTH
    return out


def render_body(panels: tuple[Panel, ...] | None = None) -> str:
    """The DashboardBody text (the !Sub string), one widget a line."""
    lines = [json.dumps(w, separators=(",", ":")) for w in widgets(panels or dashboard_panels())]
    return '{"widgets":[\n' + ",\n".join(lines) + "\n]}\n"


def committed_body(template: Path = TEMPLATE) -> str:
    body = load_raw(template)["Resources"][RESOURCE]["Properties"]["DashboardBody"]
    return str(body["Fn::Sub"])


def rewrite(template: Path = TEMPLATE) -> bool:
    """Replace the DashboardBody block of template.yaml with the rendered body; True if it changed."""
    lines = template.read_text().splitlines(keepends=True)
    try:
        start = lines.index(BODY_KEY + "\n") + 1
    except ValueError:
        raise SystemExit(f"{template}: no line {BODY_KEY.strip()!r} (the {RESOURCE} resource)") from None
    end = start
    while end < len(lines) and lines[end].startswith(BODY_INDENT):
        end += 1
    block = [BODY_INDENT + line + "\n" for line in render_body().splitlines()]
    if lines[start:end] == block:
        return False
    template.write_text("".join(lines[:start] + block + lines[end:]))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.cloudwatch_dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when template.yaml drifted")
    args = parser.parse_args(argv)
    if args.check:
        if committed_body() != render_body():
            print("template.yaml's DashboardBody is out of date: run `make dashboard`", file=sys.stderr)
            return 1
        return 0
    print("template.yaml: DashboardBody " + ("rewritten" if rewrite() else "already up to date"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
