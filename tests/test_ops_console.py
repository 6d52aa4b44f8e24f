"""The operators' console: signing in with a password and a TOTP, sessions apart from customers',
the pages and their searches, retries, and an audit row for every action."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from wizard import clock
from wizard.models import FailedTask, MarketplaceInstance, MeteringHour, SpiCall
from wizard.ops_models import Operator, OperatorAudit
from wizard.services.ops import operators

from .activation import PASSWORD, activate_by_binding, add_billing_account
from .conftest import BOTH_DATABASES, customer_of
from .helpers import submit, text_of
from .marketplace import call_spi, create_instance, enter_login_free, login_free_url
from .metering import add_metered_workspace
from .ops_support import (
    OPERATOR_PASSWORD,
    SECRET,
    add_operator,
    code_now,
    enter_code,
    enter_password,
    post_button,
    sign_in,
)


def audit_actions(db) -> list[str]:
    return list(db.session.scalars(select(OperatorAudit.action).order_by(OperatorAudit.id)))


# ---- Signing in ----


def test_the_console_needs_a_password_and_then_a_totp_code(app, client, db, frozen_clock):
    add_operator(app)
    assert client.get("/ops/").headers["Location"] == "/ops/login?next=/ops/"
    assert client.get("/ops/login/totp").headers["Location"] == "/ops/login"  # no password yet
    response = enter_password(client)
    assert response.headers["Location"].startswith("/ops/login/totp")
    assert client.get("/ops/").status_code == 302  # the password alone opens nothing
    assert enter_code(client, code_now()).headers["Location"] == "/ops/"
    page = client.get("/ops/")
    assert page.status_code == 200 and "alice" in text_of(page)
    assert audit_actions(db) == ["signed_in"]


def test_a_wrong_password_or_unknown_operator_gets_one_answer_and_is_audited(app, client, db):
    add_operator(app)
    for username, password in (("alice", "Wrong-Password-000"), ("nobody", OPERATOR_PASSWORD)):
        page = text_of(enter_password(client, username, password))
        assert "运维账号或密码错误" in page
        assert 'value="' + password + '"' not in page  # the password is never sent back
    rows = db.session.execute(select(OperatorAudit.username, OperatorAudit.action, OperatorAudit.operator_id)).all()
    assert rows == [("alice", "sign_in_refused", None), ("nobody", "sign_in_refused", None)]


def test_a_totp_code_works_once_and_wrong_codes_send_back_to_the_password(app, client, frozen_clock):
    add_operator(app)
    enter_password(client)
    used = code_now()
    enter_code(client, used)
    other = app.test_client()
    enter_password(other)
    assert "验证码不正确或已使用" in text_of(enter_code(other, used))  # the same code again: a replay
    frozen_clock.advance(30)
    assert enter_code(other, code_now()).headers["Location"] == "/ops/"  # the next step's code works
    add_operator(app, "carol")  # (alice's wrong codes so far count against her: throttled like passwords)
    third = app.test_client()
    enter_password(third, "carol")
    for _ in range(4):
        assert enter_code(third, "000000").status_code == 200
    response = enter_code(third, "000000")
    assert response.headers["Location"] == "/ops/login"  # five wrong codes: the password again


def test_a_code_from_one_step_before_or_after_is_accepted_for_clock_drift(app, client, frozen_clock):
    add_operator(app)
    enter_password(client)
    assert enter_code(client, code_now(steps_ago=2)).status_code == 200  # a minute old: refused
    assert enter_code(client, code_now(steps_ago=1)).headers["Location"] == "/ops/"


def test_first_sign_in_enrols_the_authenticator_with_a_qr_code(app, client, db, frozen_clock):
    add_operator(app, enrolled=False)
    assert client.get("/ops/login/totp/qr.svg").status_code == 404  # not before the password
    enter_password(client)
    page = text_of(client.get("/ops/login/totp"))
    assert "绑定认证器" in page and SECRET in page and 'src="/ops/login/totp/qr.svg"' in page
    qr = client.get("/ops/login/totp/qr.svg")
    assert qr.mimetype == "image/svg+xml" and qr.data.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')
    assert b"<script" not in qr.data and b"style=" not in qr.data
    assert enter_code(client, code_now()).headers["Location"] == "/ops/"
    assert db.session.scalar(select(Operator.totp_confirmed_at)) is not None
    assert audit_actions(db) == ["totp_enrolled", "signed_in"]
    other = app.test_client()
    enter_password(other)
    assert SECRET not in text_of(other.get("/ops/login/totp"))  # enrolled: the secret is never shown again
    assert other.get("/ops/login/totp/qr.svg").status_code == 404


def test_operator_passwords_are_throttled_per_username_like_customer_logins(app, client):
    add_operator(app)
    answers = [enter_password(client, "alice", "Wrong-Password-000").status_code for _ in range(7)]
    assert answers[:5] == [200] * 5 and 429 in answers[5:]
    assert "密码错误次数过多" in text_of(enter_password(client, "alice"))  # even the right one must wait


def test_a_customer_login_does_not_open_the_console_nor_an_operator_the_customer_console(app, client, db, smtp):
    add_billing_account()
    add_operator(app)
    submit(client, "/login/pwd", {"site": "cn1", "username": "acme_owner", "password": PASSWORD})
    assert client.get("/console/").status_code == 200
    assert client.get("/ops/").headers["Location"].startswith("/ops/login")
    sign_in(client)  # the operator's sign-in starts a new session: the customer's login is gone
    assert client.get("/ops/").status_code == 200
    assert client.get("/console/").headers["Location"].startswith("/login/pwd")


def test_the_console_session_ends_after_its_idle_time(app, client, frozen_clock):
    add_operator(app)
    sign_in(client)
    frozen_clock.advance(app.config["OPS_SESSION_IDLE_SECONDS"] - 5)
    assert client.get("/ops/").status_code == 200  # used: the idle time starts again
    frozen_clock.advance(app.config["OPS_SESSION_IDLE_SECONDS"] + 1)
    assert client.get("/ops/").headers["Location"].startswith("/ops/login")


def test_sign_out_is_a_post_and_audited(app, client, db):
    add_operator(app)
    sign_in(client)
    assert client.get("/ops/logout").status_code == 405
    post_button(client, "/ops/", "/ops/logout")
    assert client.get("/ops/").status_code == 302
    assert audit_actions(db)[-1] == "signed_out"


def test_a_disabled_operator_is_signed_out(app, client, db):
    add_operator(app)
    sign_in(client)
    db.session.execute(Operator.__table__.update().values(disabled_at=clock.now()))
    db.session.commit()
    assert client.get("/ops/").status_code == 302


# ---- The pages ----


@BOTH_DATABASES
def test_instances_are_found_by_any_field_and_status_one_page_at_a_time(app, client, db, smtp):
    add_billing_account()
    bound = activate_by_binding(customer_of(app, smtp, client), "1380000000000007")
    waiting = [create_instance(app.test_client(), app, f"13800000000001{n:02d}") for n in range(5)]
    add_operator(app)
    operator = app.test_client()
    sign_in(operator)

    def found(**query) -> list[str]:
        return re.findall(r'href="/ops/instances/([^"]+)"', text_of(operator.get("/ops/", query_string=query)))

    assert found(q="1380000000000007") == [bound]
    assert found(q=bound, field="instance_id") == [bound]
    assert found(q="生产", field="workspace") == [bound]  # the start of the workspace's name
    assert found(q="acme_billing") == [bound]
    assert found(q="生产", field="ali_uid") == []
    assert found(status="activated") == [bound]
    assert set(found(status="waiting")) == set(waiting)
    app.config["OPS_PAGE_SIZE"] = 2
    seen, page = [], "/ops/?status=waiting"
    while page:
        text = text_of(operator.get(page))
        seen += re.findall(r'href="/ops/instances/([^"]+)"', text)
        following = re.search(r'rel="next" href="([^"]+)"', text)
        page = following.group(1).replace("&amp;", "&") if following else None
    assert seen == list(reversed(waiting))  # newest first, each once


def test_the_timeline_tells_an_instance_s_story_in_time_order_without_its_tokens(app, client, db, smtp):
    add_billing_account()
    instance_id = activate_by_binding(customer_of(app, smtp, client))
    call_spi(app.test_client(), app, action="expiredInstance", instanceId=instance_id)
    add_operator(app)
    operator = app.test_client()
    sign_in(operator)
    page = text_of(operator.get(f"/ops/instances/{instance_id}"))
    for said in ("createInstance", "免登", "绑定费用中心账号（B1）", "绑定工作空间（B2）", "开通成功",
                 "阿里云账号已绑定费用中心账号", "商品实例已绑定工作空间", "expiredInstance", "实例已到期",
                 "工作空间进入锁定倒计时", "countdown_started"):  # fmt: skip
        assert said in page, said
    assert "token" not in re.sub(r"<[^>]+>", " ", page)  # parameters without the token
    times = re.findall(r'<li class="timeline-entry[^>]*>\s*<p class="timeline-head"><time datetime="([^"]+)"', page)
    assert times == sorted(times) and len(times) >= 11
    emails = text_of(operator.get(f"/ops/instances/{instance_id}", query_string={"kind": "email"}))
    assert "countdown_started" in emails and "createInstance" not in emails
    assert operator.get("/ops/instances/nope").status_code == 404
    assert ("viewed_instance", "instance", instance_id) in db.session.execute(
        select(OperatorAudit.action, OperatorAudit.target_type, OperatorAudit.target_id)
    ).all()


def test_the_timeline_pages_through_every_entry_once(app, client, db, frozen_clock):
    instance_id = create_instance(client, app)
    for _ in range(7):
        frozen_clock.advance(60)
        call_spi(client, app, action="upgradeInstance", instanceId=instance_id, skuId="sku2", orderId=f"o{_}")
    add_operator(app)
    sign_in(client)
    app.config["OPS_PAGE_SIZE"] = 3
    titles, page = [], f"/ops/instances/{instance_id}"
    while page:
        text = text_of(client.get(page))
        titles += re.findall(r'data-kind="([a-z_]+)"', text)
        following = re.search(r'rel="next" href="([^"]+)"', text)
        page = following.group(1).replace("&amp;", "&") if following else None
    assert titles.count("spi") == 8 and titles.count("step") == 1  # createInstance + 7 upgrades, "created"


def test_the_spi_audit_log_filters_by_action_outcome_and_time(app, client, db, frozen_clock):
    instance_id = create_instance(client, app)
    frozen_clock.advance(3600)
    client.get(login_free_url(app, instance_id))
    client.get("/spi?action=renewInstance&instanceId=x&token=" + "0" * 32)
    add_operator(app)
    operator = app.test_client()
    sign_in(operator)

    def rows(**query) -> list[str]:
        text = text_of(operator.get("/ops/spi", query_string=query))
        return re.findall(r'<td class="mono">(\w+)</td>', text)

    assert rows() == ["renewInstance", "verify", "createInstance"]
    assert rows(action="verify") == ["verify"]
    assert rows(outcome="InvalidToken") == ["renewInstance"]
    local = (clock.now() - timedelta(minutes=30)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert rows(**{"from": local.strftime("%Y-%m-%dT%H:%M")}) == ["renewInstance", "verify"]
    assert rows(to=local.strftime("%Y-%m-%dT%H:%M")) == ["createInstance"]
    assert rows(instance=instance_id) == ["verify", "createInstance"]
    assert db.session.scalar(select(func.count()).select_from(SpiCall)) == 3


def test_stuck_activations_are_those_idle_at_a_step_past_the_setting(app, client, db, frozen_clock):
    stuck = enter_login_free(client, app, "1380000000000001")
    client.get("/activate/")
    fresh_client = app.test_client()
    frozen_clock.advance(app.config["OPS_STUCK_AFTER_MINUTES"] * 60 + 1)
    fresh = enter_login_free(fresh_client, app, "1380000000000002")
    add_operator(app)
    operator = app.test_client()
    sign_in(operator)
    page = text_of(operator.get("/ops/stuck"))
    assert stuck in page and fresh not in page
    assert "选择开通方式（G1）" in page and "开通中" in page  # and it says what it cannot see
    assert stuck not in text_of(operator.get("/ops/stuck", query_string={"step": "login_free"}))


@BOTH_DATABASES
def test_a_failed_metering_hour_is_retried_before_its_deadline_only(app, client, db):
    now = clock.now().replace(minute=10, second=0, microsecond=0)
    workspace_id = add_metered_workspace("1380000000000009", "inst-metered", now - timedelta(days=1))
    instance = db.session.scalar(select(MarketplaceInstance).filter_by(instance_id="inst-metered"))
    hours = []
    for back in (1, 5):
        hour = MeteringHour(instance_id=instance.id, workspace_id=workspace_id, hour_start=now.replace(minute=0)
                            - timedelta(hours=back), entities={"DataPoints": 1}, status="failed", attempts=2,
                            next_attempt_at=now, last_error="InvalidMetering.UnknownEntity")  # fmt: skip
        db.session.add(hour)
        hours.append(hour)
    db.session.commit()
    recent, old = (hour.id for hour in hours)
    add_operator(app)
    sign_in(client)
    page = text_of(client.get("/ops/metering"))
    assert f"/ops/metering/{recent}/retry" in page and f"/ops/metering/{old}/retry" not in page
    assert client.post(f"/ops/metering/{recent}/retry").status_code == 400  # CSRF
    post_button(client, "/ops/metering", f"/ops/metering/{recent}/retry")
    post_button(client, "/ops/metering", f"/ops/metering/{old}/retry")
    db.session.expire_all()
    assert [db.session.get(MeteringHour, i).status for i in (recent, old)] == ["pending", "failed"]
    assert db.session.get(MeteringHour, recent).solo
    assert audit_actions(db)[-1] == "metering_hour_retried"


def test_a_failed_task_is_retried_from_the_console(app, client, db, smtp):
    db.session.add(FailedTask(task_id="t1", name="deliver_notice", args=[999], error="SMTPException: down",
                              status="failed", attempts=9))  # fmt: skip
    db.session.commit()
    add_operator(app)
    sign_in(client)
    page = text_of(client.get("/ops/tasks"))
    assert "deliver_notice" in page and "SMTPException" in page
    row_id = db.session.scalar(select(FailedTask.id))
    response = post_button(client, "/ops/tasks", f"/ops/tasks/{row_id}/retry", follow_redirects=True)
    assert "已重新排队" in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(FailedTask)) == 0  # ran (testing: at once) and worked
    assert audit_actions(db)[-1] == "task_retried"
    # The same button again (a second tab still shows it): the operator reads why, not an error page.
    response = post_button(client, "/ops/tasks", f"/ops/tasks/{row_id}/retry", follow_redirects=True)
    assert response.status_code == 200 and "找不到该失败任务。" in text_of(response)


def test_every_console_page_answers_in_both_languages_and_needs_an_operator(app, client, db, smtp):
    add_billing_account()
    instance_id = activate_by_binding(customer_of(app, smtp, client))
    add_operator(app)
    pages = ["/ops/", f"/ops/instances/{instance_id}", "/ops/spi", "/ops/stuck", "/ops/funnel", "/ops/metering",
             "/ops/tasks", "/ops/webhooks", "/ops/audit"]  # fmt: skip
    stranger = app.test_client()
    for path in pages:
        assert stranger.get(path).headers["Location"].startswith("/ops/login"), path
    operator = app.test_client()
    sign_in(operator)
    for language, word in (("zh", "运维控制台"), ("en", "Operations console")):
        operator.set_cookie("lang", language)
        for path in pages:
            response = operator.get(path)
            assert response.status_code == 200 and word in text_of(response), (language, path)


# ---- Commands ----


def test_create_operator_prints_the_secret_and_refuses_a_weak_password(app, db):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["ops", "create-operator", "bob", "--password", "password123"])
    assert weak.exit_code != 0 and db.session.scalar(select(func.count()).select_from(Operator)) == 0
    made = runner.invoke(args=["ops", "create-operator", "bob", "--password", OPERATOR_PASSWORD])
    assert made.exit_code == 0, made.output
    secret = re.search(r"^  ([A-Z2-7]{32})$", made.output, re.M).group(1)
    operator = db.session.scalar(select(Operator))
    assert operator.totp_secret != secret and secret not in operator.totp_secret  # encrypted at rest
    assert operators.totp_of(operator).secret == secret
    assert runner.invoke(args=["ops", "create-operator", "bob", "--password", OPERATOR_PASSWORD]).exit_code != 0


@pytest.mark.parametrize("profile, seeded", [("development", True), ("production", False)])
def test_demo_seed_makes_the_demo_operator_outside_production_only(database, smtp_server, profile, seeded):
    from wizard import create_app

    from .conftest import settings_for_tests

    extra = {"SECRET_KEY": "s" * 40, "ISV_KEY": "k" * 16, "PUBLIC_BASE_URL": "https://guance.example",
             "MARKET_ACCESS_KEY_ID": "id", "MARKET_ACCESS_KEY_SECRET": "secret"}  # fmt: skip
    app = create_app({**settings_for_tests(database, smtp_server, **extra), "APP_ENV": profile})
    output = app.test_cli_runner().invoke(args=["demo", "seed"]).output
    with app.app_context():
        demo = operators.find(operators.DEMO_USERNAME)
        assert (demo is not None) == seeded
        assert (operators.DEMO_TOTP_SECRET in output) == seeded
        code = app.test_cli_runner().invoke(args=["ops", "totp", "demo_ops"])
        if seeded:
            assert code.stdout.strip() == operators.current_code(demo)
        else:
            assert code.exit_code != 0
        assert app.test_cli_runner().invoke(args=["ops", "totp", "alice"]).exit_code != 0
