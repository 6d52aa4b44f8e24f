"""The activation funnel: each step recorded once per instance, and the figures of a period."""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from devtools.customer import Browser, Customer
from wizard import clock
from wizard.ops_models import ActivationProgress, FunnelDay, FunnelDayDuration, FunnelEvent
from wizard.services.ops import funnel

from .activation import ACME, add_billing_account, workspace_id
from .conftest import BOTH_DATABASES
from .helpers import submit, text_of
from .marketplace import enter_login_free
from .ops_support import add_operator, sign_in


def steps_of(db, instance_id: str) -> list[tuple]:
    return db.session.execute(
        select(FunnelEvent.step, FunnelEvent.previous_step, FunnelEvent.seconds_on_previous)
        .filter_by(instance_id=instance_id)
        .order_by(FunnelEvent.id)
    ).all()


@BOTH_DATABASES
def test_the_bind_path_records_each_step_once_with_the_time_spent_before_it(app, client, db, smtp, frozen_clock):
    add_billing_account()
    instance_id = enter_login_free(client, app)
    frozen_clock.advance(20)
    client.get("/activate/")
    client.get("/activate/")  # shown again: nothing new
    frozen_clock.advance(40)
    submit(client, "/activate/", {"path": "bind"})
    client.get("/bind/billing")
    frozen_clock.advance(90)
    Customer(Browser.of(client), smtp).bind_billing(*ACME)
    client.get("/bind/workspaces")  # where 绑定 redirects
    frozen_clock.advance(30)
    Customer(Browser.of(client), smtp).bind_workspace(workspace_id("生产环境"))
    client.get("/bind/workspaces")  # B3 after activation: the wizard is behind the customer, nothing recorded
    assert steps_of(db, instance_id) == [
        ("created", None, None),
        ("login_free", "created", 0),
        ("choose", "login_free", 20),
        ("bind_billing", "choose", 40),
        ("bind_workspaces", "bind_billing", 90),
        ("activated", "bind_workspaces", 30),
    ]
    progress = db.session.get(ActivationProgress, instance_id)
    assert progress.step == "activated" and progress.activated_at == clock.now()


def test_a_period_s_figures_count_reached_left_and_the_median_time(app, client, db, smtp, frozen_clock):
    add_billing_account()
    start = clock.now()
    timings = (10, 30, 50)
    for number, seconds in enumerate(timings):
        browser = app.test_client()
        enter_login_free(browser, app, f"13800000000000{number:02d}")
        frozen_clock.advance(seconds)
        browser.get("/activate/")
        if number == 0:
            submit(browser, "/activate/", {"path": "register"})
            browser.get("/register/basic")
    report = funnel.report(start - timedelta(minutes=1), clock.now() + timedelta(minutes=1))
    figures = {f.step.key: f for f in report.steps}
    assert report.entered == 3 and report.activated == 0
    assert (figures["login_free"].reached, figures["login_free"].went_on, figures["login_free"].stopped) == (3, 3, 0)
    assert figures["login_free"].median_seconds == 30  # 10, 30, 50
    assert (figures["choose"].reached, figures["choose"].stopped) == (3, 2)
    assert figures["register_basic"].reached == 1 and figures["register_basic"].stopped == 1
    later = funnel.report(clock.now() + timedelta(minutes=1), clock.now() + timedelta(days=1))
    assert later.entered == 0  # another period: other customers


def test_the_funnel_page_draws_an_svg_chart_without_style_beside_its_table(app, client, db, smtp):
    add_billing_account()
    enter_login_free(client, app)
    client.get("/activate/")
    add_operator(app)
    operator = app.test_client()
    sign_in(operator)
    page = text_of(operator.get("/ops/funnel", query_string={"days": 7}))
    svg = re.search(r"<svg .*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and "<title" in svg and "style" not in svg
    assert len(re.findall(r"<rect ", svg)) == len(funnel.STEPS)
    widths = [float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)"', svg)]
    assert widths[0] == max(widths) > 0 and widths[-1] == 0  # created (1) is the longest; nobody activated
    table = re.search(r'<table class="table funnel-table">.*?</table>', page, re.S).group(0)
    assert "免登" in table and "开通成功" in table
    custom = operator.get("/ops/funnel", query_string={"from": "2026-01-01", "to": "2026-01-31"})
    assert custom.status_code == 200 and "2026-01-01 至 2026-01-31" in text_of(custom)
    nonsense = operator.get("/ops/funnel", query_string={"from": "x", "to": "2026-13-45", "days": "-1"})
    assert nonsense.status_code == 200  # anything unreadable: the last 30 days


# ---- The daily roll-up: the same figures as the events themselves ----

SHANGHAI = ZoneInfo("Asia/Shanghai")
BEGIN = datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
PATHS = (
    ("created", "login_free", "choose", "bind_billing", "bind_workspaces", "activated"),
    ("created", "login_free", "choose", "register_basic", "register_company", "register_activation", "activated"),
    ("created", "login_free", "choose", "bind_billing", "bind_workspaces", "create_workspace", "activated"),
)


def generate_activations(count: int, seed: int) -> None:
    """`count` instances beginning at random moments over ten days (many near midnight, where the
    roll-up's days meet), each going some way along a path, a few minutes or hours on each step."""
    rng = random.Random(seed)
    for number in range(count):
        entered = BEGIN + timedelta(
            days=rng.randrange(10), hours=rng.choice((-9, 0, 5, 14, 14.9)), minutes=rng.randrange(6)
        )
        path = rng.choice(PATHS)
        moment = entered
        for step in path[: rng.randint(1, len(path))]:
            funnel.reach(f"gen{number:04d}", "1390000000000001", step, moment.astimezone(UTC))
            moment += timedelta(seconds=rng.choice((5, 60, 61, 600, 3600, 7300)) + rng.randrange(3))


def reference(db, start: datetime, end: datetime) -> dict:
    """The figures computed here from every event of the period, with statistics.median."""
    events = db.session.execute(
        select(FunnelEvent.step, FunnelEvent.previous_step, FunnelEvent.seconds_on_previous).where(
            FunnelEvent.entered_at >= start, FunnelEvent.entered_at < end
        )
    ).all()
    figures = {}
    for step in funnel.STEPS:
        times = [seconds for _step, previous, seconds in events if previous == step.key]
        reached = sum(1 for key, _previous, _seconds in events if key == step.key)
        figures[step.key] = (reached, len(times), statistics.median(times) if times else None)
    return figures


def figures_of(report) -> dict:
    return {f.step.key: (f.reached, f.went_on, f.median_seconds) for f in report.steps}


def roll_up_rows(db) -> tuple[list, list]:
    return (
        db.session.execute(
            select(FunnelDay.day, FunnelDay.step, FunnelDay.reached).order_by(FunnelDay.day, FunnelDay.step)
        ).all(),
        db.session.execute(
            select(
                FunnelDayDuration.day, FunnelDayDuration.step, FunnelDayDuration.seconds, FunnelDayDuration.departures
            ).order_by(FunnelDayDuration.day, FunnelDayDuration.step, FunnelDayDuration.seconds)
        ).all(),
    )


@BOTH_DATABASES
def test_the_daily_roll_up_gives_the_figures_of_the_events_for_any_period(app, db):
    generate_activations(160, seed=20)
    db.session.commit()
    day = timedelta(days=1)
    midnight = BEGIN.replace(hour=0)
    periods = [
        (midnight - day, midnight + 12 * day),  # everything, whole days: the roll-up alone
        (midnight + 2 * day, midnight + 5 * day),  # three whole days
        (
            midnight + 2 * day + timedelta(hours=23, minutes=50),
            midnight + 6 * day + timedelta(minutes=30),
        ),  # ragged ends
        (midnight + 3 * day + timedelta(hours=5), midnight + 3 * day + timedelta(hours=15)),  # within one day
        (midnight + 20 * day, midnight + 30 * day),  # nobody
    ]
    for start, end in periods:
        assert figures_of(funnel.report(start, end)) == reference(db, start, end), (start, end)
    everything = funnel.report(*periods[0])
    assert everything.entered == 160 and 0 < everything.activated < 160


@BOTH_DATABASES
def test_rebuilding_the_roll_up_from_the_events_gives_the_same_rows(app, db):
    generate_activations(60, seed=7)
    db.session.commit()
    kept = roll_up_rows(db)
    assert kept[0] and kept[1]
    assert funnel.rebuild_roll_up() == db.session.scalar(select(func.count()).select_from(FunnelEvent))
    db.session.commit()
    assert roll_up_rows(db) == kept


def test_a_median_from_a_histogram_is_the_median_of_its_values():
    for values in ([7], [1, 2], [3, 1, 2], [5, 5, 5, 9], [1, 1, 2, 2, 2, 10], list(range(1, 101)) + [100] * 3):
        assert funnel.median(Counter(values)) == statistics.median(values), values
    assert funnel.median(Counter()) is None
