"""What the rest of the product tells operations, one call per place: the funnel, webhooks, metrics
and the log hear of each event from here.

    events.spi_call(action, params, outcome)    # services/spi.record_call: every SPI call, 免登 included
    events.page_shown(activation)               # flow.wizard_page: a wizard page about to be shown
    events.instance_activated(instance)         # services/workspaces.bind_instance: 开通成功
    events.instance_expired(instance)           # services/lifecycle: expiredInstance, or its date
    events.instance_released(instance)          # services/lifecycle: releaseInstance
    events.workspace_locked(workspace, instance)  # services/lifecycle: the countdown ended

Each runs in the caller's transaction: a rollback takes its rows (funnel events, webhook deliveries)
with it, and a commit queues the deliveries.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import request
from sqlalchemy import select

from ... import clock
from ...extensions import db
from ...models import MarketplaceInstance
from ...observability import logs, metrics
from . import funnel, webhooks

log = logs.get_logger("wizard.events")


def spi_call(action: str, params: Mapping[str, str], outcome: str) -> None:
    """An SPI call was answered (and is being audited): metrics, the log, the funnel's first steps."""
    metrics.spi_call(action, outcome)
    instance_id = params.get("instanceId") or params.get("orderBizId")
    log.info("spi call", spi_action=metrics.known_action(action), outcome=outcome, instance_id=instance_id)
    if outcome != "ok" or action not in ("createInstance", "verify"):
        return
    instance = db.session.scalar(select(MarketplaceInstance).filter_by(instance_id=instance_id))
    if instance is None:
        return
    if action == "createInstance":
        if funnel.reach(instance.instance_id, instance.ali_uid, "created", instance.created_at):
            webhooks.emit("instance.created", instance)
    else:
        funnel.reach(instance.instance_id, instance.ali_uid, "login_free")


def page_shown(activation) -> None:
    """A wizard page passed its guard: the log knows whose it is; a GET of a funnel step records it."""
    instance = activation.instance
    logs.bind(ali_uid=instance.ali_uid, instance_id=instance.instance_id)
    if request.method == "GET" and request.url_rule is not None:
        funnel.page_shown(instance.instance_id, instance.ali_uid, request.url_rule.rule)


def instance_activated(instance: MarketplaceInstance) -> None:
    if funnel.reach(instance.instance_id, instance.ali_uid, "activated", clock.now()):
        webhooks.emit("instance.activated", instance)


def instance_expired(instance: MarketplaceInstance) -> None:
    log.info("instance expired", instance_id=instance.instance_id)
    webhooks.emit("instance.expired", instance)


def instance_released(instance: MarketplaceInstance) -> None:
    log.info("instance released", instance_id=instance.instance_id)
    webhooks.emit("instance.released", instance)


def workspace_locked(workspace, instance: MarketplaceInstance | None) -> None:
    log.info("workspace locked", workspace_id=workspace.id, instance_id=instance and instance.instance_id)
    if instance is not None:
        webhooks.emit("instance.locked", instance)
