"""The console's lists: instances, one instance's timeline, the SPI audit log, stuck activations,
the operators' own audit trail. Each parses its query, asks services/ops, renders."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, current_app, render_template, request

from ...pages import route
from ...services.ops import audit, console, funnel
from ...services.ops import timeline as timelines
from ...services.ops.paging import Cursor
from . import access, bp

SPI_ACTIONS = ("createInstance", "renewInstance", "upgradeInstance", "expiredInstance", "releaseInstance", "verify")


def page_size() -> int:
    return current_app.config["OPS_PAGE_SIZE"]


def cursor() -> Cursor | None:
    return Cursor.decode(request.args.get("after"))


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def parse_local(text: str | None, end_of_day: bool = False) -> datetime | None:
    """A date (yyyy-mm-dd) or datetime-local value (yyyy-mm-ddThh:mm) in the console's time zone."""
    text = (text or "").strip()
    for layout in ("%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, layout)
        except ValueError:
            continue
        if layout == "%Y-%m-%d" and end_of_day:
            moment = datetime.combine(moment.date() + timedelta(days=1), time())
        return moment.replace(tzinfo=local_zone())
    return None


@route(bp, "O1")
def instances(operator):
    query = console.InstanceQuery.parse(request.args)
    page = console.instances(query, cursor(), page_size())
    return render_template("ops/instances.html", operator=operator, query=query, page=page, steps=funnel.BY_KEY)


@route(bp, "O2")
def instance(operator, instance_id: str):
    summary = console.instance_summary(instance_id)
    if summary is None:
        abort(404)
    kinds = {kind for kind in request.args.getlist("kind") if kind in timelines.KINDS}
    position = timelines.Position.decode(request.args.get("after"))
    story = timelines.timeline(summary.instance, position, page_size(), kinds)
    audit.record_now(access.actor(operator), "viewed_instance", ("instance", summary.instance.instance_id))
    return render_template(
        "ops/instance.html", operator=operator, summary=summary, story=story, kinds=kinds, steps=funnel.BY_KEY,
        kind_labels=timelines.KINDS,
    )  # fmt: skip


@route(bp, "O3")
def spi_calls(operator):
    args = request.args
    query = console.SpiQuery(
        action=args.get("action", "") if args.get("action") in SPI_ACTIONS else "",
        outcome=(args.get("outcome") or "").strip()[:64],
        start=parse_local(args.get("from")),
        end=parse_local(args.get("to"), end_of_day=True),
        instance_id=(args.get("instance") or "").strip()[:64],
    )
    page = console.spi_calls(query, cursor(), page_size())
    return render_template("ops/spi_calls.html", operator=operator, query=query, page=page, actions=SPI_ACTIONS)


@route(bp, "O4")
def stuck(operator):
    step = request.args.get("step", "")
    step = step if step in funnel.BY_KEY and step != "activated" else ""
    idle = timedelta(minutes=current_app.config["OPS_STUCK_AFTER_MINUTES"])
    page = console.stuck_activations(step, cursor(), page_size(), idle)
    minutes = current_app.config["OPS_STUCK_AFTER_MINUTES"]
    return render_template(
        "ops/stuck.html", operator=operator, page=page, step=step, steps=funnel.STEPS, minutes=minutes
    )


@route(bp, "O10")
def audit_log(operator):
    args = request.args
    query = console.AuditQuery(
        username=(args.get("operator") or "").strip()[:64],
        action=(args.get("action") or "").strip()[:64],
        target_type=(args.get("target_type") or "").strip()[:32],
        target_id=(args.get("target_id") or "").strip()[:64],
    )
    page = console.audit_log(query, cursor(), page_size())
    return render_template("ops/audit.html", operator=operator, query=query, page=page)


@bp.context_processor
def console_context():
    # No form here: this runs for the blueprint's error pages too, where the body may be unreadable (413).
    return {"signed_in_operator": access.current_operator()}
