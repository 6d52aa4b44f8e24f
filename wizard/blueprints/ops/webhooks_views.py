"""Webhooks: the endpoints, adding one (its secret shown once), its deliveries with their attempts,
发送测试事件, 停用 / 启用. Every change is audited in the view's unit of work, with the change."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, session, url_for

from ...extensions import db
from ...i18n import gettext as _
from ...ops_models import WebhookEndpoint
from ...pages import route
from ...services.ops import audit, webhooks
from . import access, bp
from .access import operator_required
from .forms import ActionForm, WebhookForm
from .pages import cursor, page_size

SECRET_ONCE = "ops_webhook_secret"


def endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id) if 0 < endpoint_id < 2**31 else None
    if endpoint is None:
        abort(404)
    return endpoint


@route(bp, "O8")
def webhook_list(operator):
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            new = webhooks.create_endpoint(form.url.data, form.events.data, form.description.data, operator.id)
        except webhooks.WebhookRefused as refusal:
            form[refusal.field].errors = [*form[refusal.field].errors, refusal.message]
        else:
            audit.record(access.actor(operator), "webhook_created", ("webhook", new.endpoint.id),
                         url=new.endpoint.url, events=new.endpoint.events)  # fmt: skip
            session[SECRET_ONCE] = {"id": new.endpoint.id, "secret": new.secret}
            return redirect(url_for("ops.webhook", endpoint_id=new.endpoint.id))
    return render_template(
        "ops/webhooks.html", operator=operator, form=form, endpoints=webhooks.endpoints(), events=webhooks.EVENTS
    )


@route(bp, "O9")
def webhook(operator, endpoint_id: int):
    endpoint = endpoint_or_404(endpoint_id)
    shown = session.pop(SECRET_ONCE, None)
    secret = shown["secret"] if isinstance(shown, dict) and shown.get("id") == endpoint.id else None
    page = webhooks.deliveries(endpoint.id, cursor(), page_size())
    return render_template(
        "ops/webhook.html", operator=operator, endpoint=endpoint, secret=secret, page=page, events=webhooks.EVENTS
    )


@bp.post("/webhooks/<int:endpoint_id>/test")
@operator_required
def webhook_test(operator, endpoint_id: int):
    endpoint = endpoint_or_404(endpoint_id)
    if ActionForm().validate_on_submit():
        delivery = webhooks.send_test(endpoint)
        audit.record(access.actor(operator), "webhook_test_sent", ("webhook", endpoint.id), event_id=delivery.event_id)
        flash(_("测试事件已发送，结果见下方的投递记录。"), "success")
    return redirect(url_for("ops.webhook", endpoint_id=endpoint.id))


@bp.post("/webhooks/<int:endpoint_id>/enable", defaults={"change": "enable"})
@bp.post("/webhooks/<int:endpoint_id>/disable", defaults={"change": "disable"})
@operator_required
def webhook_switch(operator, endpoint_id: int, change: str):
    endpoint = endpoint_or_404(endpoint_id)
    if ActionForm().validate_on_submit():
        webhooks.set_enabled(endpoint, change == "enable")
        audit.record(access.actor(operator), f"webhook_{change}d", ("webhook", endpoint.id))
        flash(_("Webhook 已启用。") if change == "enable" else _("Webhook 已停用，不再发送事件。"), "success")
    return redirect(url_for("ops.webhook", endpoint_id=endpoint.id))
