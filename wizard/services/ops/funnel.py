"""The activation funnel: the first time each instance reaches each step, and what that adds up to.

Steps, in the flow's order (STEPS): the instance is created (createInstance), 免登, G1, then the
registration path (R1, R2, R3) or the bind path (B1, B2, B2a-c), and 开通成功 (the instance bound to
a workspace: activated). A wizard page records its step when it is shown (flow.wizard_page's guard
calls `page_shown`); the SPI records the creation and 免登, the binding records the success. Pages
are known by URL rule, which stays when blueprints are renamed.

Each first reach is one row of funnel_event (unique per instance and step, so reloading a page or two
tabs record it once) carrying when the instance's activation began (`entered_at`), the step it left
and the seconds it spent there. activation_progress keeps each instance's latest step, for the stuck
activations page. A funnel for a period is the instances whose activation began in it: how many
reached each step, how many went on from it and how many stopped there, and the median time spent
on each step before the next.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from flask import session
from sqlalchemy import func, literal, select

from ... import clock
from ...db_types import Timestamp
from ...extensions import db, execute_dml
from ...i18n import lazy_gettext as _l
from ...observability import logs, metrics
from ...ops_models import ActivationProgress, FunnelEvent
from ...upsert import INSERTS


@dataclass(frozen=True)
class Step:
    key: str
    label: object  # lazy string
    page: str | None  # the URL rule of the page that records it, if a page does
    path: str  # "both", "register" or "bind": the chart colours the two paths apart


STEPS = (
    Step("created", _l("实例已创建"), None, "both"),
    Step("login_free", _l("免登"), None, "both"),
    Step("choose", _l("选择开通方式（G1）"), "/activate/", "both"),
    Step("register_basic", _l("注册：基本信息（R1）"), "/register/basic", "register"),
    Step("register_company", _l("注册：企业信息（R2）"), "/register/company", "register"),
    Step("register_activation", _l("注册：选择开通方式（R3）"), "/register/activation", "register"),
    Step("bind_billing", _l("绑定费用中心账号（B1）"), "/bind/billing", "bind"),
    Step("bind_workspaces", _l("绑定工作空间（B2）"), "/bind/workspaces", "bind"),
    Step("create_workspace", _l("创建工作空间（B2a）"), "/workspace/new", "bind"),
    Step("activated", _l("开通成功"), None, "both"),
)
BY_KEY = {step.key: step for step in STEPS}
BY_PAGE = {step.page: step.key for step in STEPS if step.page}
SESSION_KEY = "funnel_seen"
log = logs.get_logger("wizard.funnel")


def reach(instance_id: str, ali_uid: str, step: str, now: datetime | None = None) -> bool:
    """Record the instance's first reach of `step` in the caller's transaction; False when it had
    already reached it (or, for a page's step, was activated already: the wizard is behind it)."""
    now = now or clock.now()
    progress = db.session.get(ActivationProgress, instance_id)
    if progress is not None and progress.activated_at is not None and step != "activated":
        return False
    values = {
        "instance_id": instance_id,
        "ali_uid": ali_uid,
        "step": step,
        "reached_at": now,
        "entered_at": progress.entered_at if progress else now,
        "previous_step": progress.step if progress else None,
        "seconds_on_previous": max(0, int((now - progress.reached_at).total_seconds())) if progress else None,
    }
    dialect = db.session.get_bind().dialect.name
    inserted = execute_dml(
        INSERTS[dialect](FunnelEvent).values(**values).on_conflict_do_nothing(index_elements=["instance_id", "step"])
    ).rowcount
    if not inserted:
        return False
    _advance(progress, values, now)
    metrics.funnel_step(step)
    log.info("funnel step", step=step, instance_id=instance_id, ali_uid=ali_uid)
    return True


def _advance(progress: ActivationProgress | None, values: dict, now: datetime) -> None:
    """The instance's latest step, in one upsert (two first steps at once cannot both insert it)."""
    row = {
        "instance_id": values["instance_id"], "ali_uid": values["ali_uid"], "step": values["step"], "reached_at": now,
        "entered_at": values["entered_at"], "activated_at": now if values["step"] == "activated" else None,
    }  # fmt: skip
    statement = INSERTS[db.session.get_bind().dialect.name](ActivationProgress).values(**row)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["instance_id"],
            set_={
                "step": statement.excluded.step,
                "reached_at": statement.excluded.reached_at,
                "activated_at": func.coalesce(ActivationProgress.activated_at, statement.excluded.activated_at),
            },
            where=ActivationProgress.reached_at <= statement.excluded.reached_at,
        )
    )
    if progress is not None:
        db.session.expire(progress)


def page_shown(instance_id: str, ali_uid: str, rule: str | None) -> None:
    """A wizard page was shown: its step, recorded (with the page's unit of work) the first time for this instance.

    The steps already recorded are remembered in the (server-side) session, so a page shown again
    costs no query."""
    step = BY_PAGE.get(rule or "")
    if step is None:
        return
    seen = session.get(SESSION_KEY) or {}
    if seen.get("instance") != instance_id:
        seen = {"instance": instance_id, "steps": []}
    if step in seen["steps"]:
        return
    reach(instance_id, ali_uid, step)
    session[SESSION_KEY] = {"instance": instance_id, "steps": [*seen["steps"], step]}


# ---- The report ----


@dataclass(frozen=True)
class StepFigures:
    step: Step
    reached: int
    went_on: int
    median_seconds: float | None

    @property
    def stopped(self) -> int:
        """Reached this step and went no further (the last step has nobody to lose)."""
        return 0 if self.step.key == "activated" else max(0, self.reached - self.went_on)


@dataclass(frozen=True)
class Funnel:
    start: datetime
    end: datetime
    steps: list[StepFigures]

    @property
    def entered(self) -> int:
        return max((figures.reached for figures in self.steps), default=0)

    @property
    def activated(self) -> int:
        return next(figures.reached for figures in self.steps if figures.step.key == "activated")

    def share(self, figures: StepFigures) -> float:
        return figures.reached / self.entered if self.entered else 0.0


def report(start: datetime, end: datetime) -> Funnel:
    """The funnel of the instances whose activation began in [start, end)."""
    cohort = (
        FunnelEvent.entered_at >= literal(start, Timestamp()),
        FunnelEvent.entered_at < literal(end, Timestamp()),
    )
    reached = dict(
        db.session.execute(select(FunnelEvent.step, func.count()).where(*cohort).group_by(FunnelEvent.step)).all()
    )
    went_on, medians = _departures(cohort)
    steps = [
        StepFigures(step, reached.get(step.key, 0), went_on.get(step.key, 0), medians.get(step.key)) for step in STEPS
    ]
    return Funnel(start, end, steps)


def _departures(cohort) -> tuple[dict[str, int], dict[str, float]]:
    """How many left each step for another, and the median seconds they spent on it first."""
    left = FunnelEvent.previous_step.is_not(None)
    if db.session.get_bind().dialect.name == "postgresql":
        rows = db.session.execute(
            select(
                FunnelEvent.previous_step,
                func.count(),
                func.percentile_cont(0.5).within_group(FunnelEvent.seconds_on_previous),
            )
            .where(*cohort, left)
            .group_by(FunnelEvent.previous_step)
        ).all()
        return {row[0]: row[1] for row in rows}, {row[0]: float(row[2]) for row in rows if row[2] is not None}
    durations: dict[str, list[int]] = {}
    for previous, seconds in db.session.execute(
        select(FunnelEvent.previous_step, FunnelEvent.seconds_on_previous).where(*cohort, left)
    ):
        # `left` keeps only the rows with a previous step
        durations.setdefault(cast(str, previous), []).append(seconds or 0)
    return {k: len(v) for k, v in durations.items()}, {k: float(statistics.median(v)) for k, v in durations.items()}
