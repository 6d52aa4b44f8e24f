"""The activation funnel for a chosen period: an SVG chart drawn on the server, the table beside it."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import render_template, request

from ... import clock
from ...pages import route
from ...services.ops import funnel as funnels
from . import bp
from .pages import local_zone, parse_local

PERIODS = (7, 30, 90)
MAX_DAYS = 366


def period() -> tuple[datetime, datetime, int | None]:
    """[start, end) from ?days=N (7, 30, 90) or ?from=&to= (dates, inclusive); default the last 30 days."""
    today = clock.now().astimezone(local_zone()).date()
    start, end = parse_local(request.args.get("from")), parse_local(request.args.get("to"), end_of_day=True)
    if start and end and start < end and end - start <= timedelta(days=MAX_DAYS):
        return start, end, None
    days = request.args.get("days", type=int)
    days = days if days in PERIODS else 30
    end = datetime.combine(today + timedelta(days=1), time(), local_zone())
    return end - timedelta(days=days), end, days


@route(bp, "O5")
def funnel(operator):
    start, end, days = period()
    report = funnels.report(start, end)
    return render_template(
        "ops/funnel.html", operator=operator, report=report, days=days, periods=PERIODS, chart=chart(report),
        last_moment=end - timedelta(seconds=1),
    )  # fmt: skip


def chart(report: funnels.Funnel) -> dict:
    """Bar geometry for the SVG (presentation attributes only: the CSP allows no style attribute)."""
    label_width, bar_width, row_height = _label_width(report.steps), 330, 34
    widest = max((figures.reached for figures in report.steps), default=0) or 1
    rows = []
    for index, figures in enumerate(report.steps):
        width = round(bar_width * figures.reached / widest, 1)
        rows.append({
            "figures": figures, "y": 12 + index * row_height, "width": max(width, 1 if figures.reached else 0),
            "x": label_width, "text_x": label_width + max(width, 0) + 8,
        })  # fmt: skip
    return {"rows": rows, "width": label_width + bar_width + 90, "height": 24 + len(rows) * row_height}


def _label_width(steps) -> int:
    """Room for the longest step name at 12 px: a Chinese character is about 12 px wide, others about 6.5."""
    widest = max(sum(12 if ord(c) > 0x2E7F else 6.5 for c in str(f.step.label)) for f in steps)
    return int(widest) + 20
