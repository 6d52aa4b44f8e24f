"""Metering hours 推送失败 and failed tasks, each with a retry button (POST, CSRF, audited)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from ...i18n import gettext as _
from ...pages import route
from ...services.ops import console, failures
from ...services.refusals import Refused
from . import access, bp
from .access import operator_required
from .forms import ActionForm
from .pages import cursor, page_size


@route(bp, "O6")
def metering(operator):
    page = console.metering_failures(cursor(), page_size())
    return render_template("ops/metering.html", operator=operator, page=page, retryable=failures.metering_retryable)


@bp.post("/metering/<int:hour_id>/retry")
@operator_required
def retry_metering(operator, hour_id: int):
    if ActionForm().validate_on_submit():
        try:
            failures.retry_metering_hour(hour_id, access.actor(operator))
            flash(_("已重新排队，将在下一轮计量推送（每分钟一次）中推送。"), "success")
        except Refused as refusal:
            flash(str(refusal.message), "error")
    return redirect(url_for("ops.metering"))


@route(bp, "O7")
def tasks(operator):
    page = console.failed_tasks(cursor(), page_size())
    return render_template("ops/tasks.html", operator=operator, page=page)


@bp.post("/tasks/<int:failed_id>/retry")
@operator_required
def retry_task(operator, failed_id: int):
    if ActionForm().validate_on_submit():
        try:
            row = failures.retry_task(failed_id, access.actor(operator))
            flash(_("任务 %(name)s 已重新排队。", name=row.name), "success")
        except Refused as refusal:
            flash(str(refusal.message), "error")
    return redirect(url_for("ops.tasks"))
