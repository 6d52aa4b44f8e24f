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

Reading every event of a period at each request grows with the period (90 days at 100,000 instances
is 130,000 events), so each event is also counted, in its own transaction, in a daily roll-up keyed
by the day its activation began in the console's time zone: funnel_day (instances that reached each
step) and funnel_day_duration (a histogram of the seconds spent on each step, exact to the second,
so the median read from it is the median of the events). A period sums the roll-up's whole days and
counts a partial day at either end (a start or end at a time of day) from the events themselves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from flask import current_app, session
from sqlalchemy import delete, func, insert, literal, select

from ... import clock
from ...db_types import Timestamp
from ...extensions import db, execute_dml
from ...i18n import lazy_gettext as _l
from ...observability import logs, metrics
from ...ops_models import ActivationProgress, FunnelDay, FunnelDayDuration, FunnelEvent
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
    _roll_up(values)
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
    """The funnel of the instances whose activation began in [start, end): the roll-up's whole days
    (in the console's time zone) and, for a start or end within a day, that day's part from the events."""
    first, last = _whole_days(start, end)
    tally = Tally()
    edges = [(start, end)]
    if first < last:
        tally.add(_rolled_up(first, last))
        edges = [(start, _midnight(first)), (_midnight(last), end)]
    for edge_start, edge_end in edges:
        if edge_start < edge_end:
            tally.add(_counted(edge_start, edge_end))
    return Funnel(start, end, [tally.figures(step) for step in STEPS])


@dataclass
class Tally:
    """Instances that reached each step, and for each step a histogram of the seconds spent on it by
    those that went on (exact to the second: its median is the median of the events)."""

    reached: Counter = field(default_factory=Counter)
    durations: dict[str, Counter] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.reached.update(other.reached)
        for step, histogram in other.durations.items():
            self.durations.setdefault(step, Counter()).update(histogram)

    def count(self, step: str, seconds: int, departures: int) -> None:
        self.durations.setdefault(step, Counter())[seconds] += departures

    def figures(self, step: Step) -> StepFigures:
        histogram = self.durations.get(step.key, Counter())
        return StepFigures(step, self.reached[step.key], histogram.total(), median(histogram))


def median(histogram: Counter) -> float | None:
    """The median of the values a histogram counts (value -> how many): the middle one, or the mean
    of the two middle ones, as statistics.median and PostgreSQL's percentile_cont(0.5) give it."""
    total = histogram.total()
    if not total:
        return None
    ranks, middle, seen = ((total - 1) // 2, total // 2), [], 0  # the same rank twice when the total is odd
    for value in sorted(histogram):
        middle += [value for rank in ranks if seen <= rank < seen + histogram[value]]
        seen += histogram[value]
    return sum(middle) / len(middle)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _day(moment: datetime) -> date:
    """The roll-up's day of a moment: its date in the console's time zone."""
    return moment.astimezone(_zone()).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), _zone())


def _whole_days(start: datetime, end: datetime) -> tuple[date, date]:
    """[first, last): the days lying wholly inside [start, end)."""
    first = _day(start)
    if _midnight(first) < start:
        first += timedelta(days=1)
    return first, _day(end)


def _rolled_up(first: date, last: date) -> Tally:
    tally = Tally()
    days = (FunnelDay.day >= first, FunnelDay.day < last)
    rows = db.session.execute(select(FunnelDay.step, func.sum(FunnelDay.reached)).where(*days).group_by(FunnelDay.step))
    tally.reached.update({step: int(count) for step, count in rows})  # SUM: a Decimal on PostgreSQL
    duration = FunnelDayDuration
    for step, seconds, departures in db.session.execute(
        select(duration.step, duration.seconds, func.sum(duration.departures))
        .where(duration.day >= first, duration.day < last)
        .group_by(duration.step, duration.seconds)
    ):
        tally.count(step, seconds, int(departures))
    return tally


def _counted(start: datetime, end: datetime) -> Tally:
    """The same figures counted from the events themselves: the part of a day at either end of a period."""
    tally = Tally()
    cohort = (
        FunnelEvent.entered_at >= literal(start, Timestamp()),
        FunnelEvent.entered_at < literal(end, Timestamp()),
    )
    rows = db.session.execute(select(FunnelEvent.step, func.count()).where(*cohort).group_by(FunnelEvent.step))
    tally.reached.update(dict(rows.all()))
    for step, seconds, departures in db.session.execute(
        select(FunnelEvent.previous_step, FunnelEvent.seconds_on_previous, func.count())
        .where(*cohort, FunnelEvent.previous_step.is_not(None))
        .group_by(FunnelEvent.previous_step, FunnelEvent.seconds_on_previous)
    ):
        tally.count(cast(str, step), seconds or 0, departures)  # `previous_step IS NOT NULL` above
    return tally


# ---- The roll-up ----


def _roll_up(values: dict) -> None:
    """Count a new funnel_event row (`values`) in the daily roll-up, in the caller's transaction."""
    day = _day(values["entered_at"])
    _increment(FunnelDay, {"day": day, "step": values["step"]}, "reached")
    if values["previous_step"] is not None:
        key = {"day": day, "step": values["previous_step"], "seconds": values["seconds_on_previous"] or 0}
        _increment(FunnelDayDuration, key, "departures")


def _increment(model, key: dict, counter: str, by: int = 1) -> None:
    """An upsert adding `by` to a counter: concurrent steps of the same day each add theirs."""
    statement = INSERTS[db.session.get_bind().dialect.name](model).values(**key, **{counter: by})
    column = getattr(model, counter)
    db.session.execute(statement.on_conflict_do_update(index_elements=list(key), set_={counter: column + by}))


def rebuild_roll_up() -> int:
    """Recompute the roll-up from every funnel_event row (after BABEL_DEFAULT_TIMEZONE changed, or to
    check it); the caller commits. Returns the number of events counted."""
    execute_dml(delete(FunnelDayDuration))
    execute_dml(delete(FunnelDay))
    reached: Counter = Counter()
    departures: Counter = Counter()
    columns = (FunnelEvent.entered_at, FunnelEvent.step, FunnelEvent.previous_step, FunnelEvent.seconds_on_previous)
    for entered_at, step, previous_step, seconds in db.session.execute(select(*columns)).yield_per(10_000):
        reached[_day(entered_at), step] += 1
        if previous_step is not None:
            departures[_day(entered_at), previous_step, seconds or 0] += 1
    if reached:
        db.session.execute(insert(FunnelDay), [{"day": d, "step": s, "reached": n} for (d, s), n in reached.items()])
    if departures:
        rows = [{"day": d, "step": s, "seconds": t, "departures": n} for (d, s, t), n in departures.items()]
        db.session.execute(insert(FunnelDayDuration), rows)
    return reached.total()
