"""After activation: the lock countdown (X1), the lock and wipe, 立即解锁 (X3), 解散 (X2), release, and the
emails that tell the customer. The countdown's end is driven by the frozen clock, never by waiting."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from wizard.models import (
    BillingAccount,
    CloudAccountBinding,
    GuanceAccount,
    MarketplaceInstance,
    Workspace,
    WorkspaceMember,
)
from wizard.services import lifecycle

from .activation import (
    PASSWORD,
    activate_by_binding,
    add_billing_account,
    bind_billing,
    bind_workspace,
    send_code,
    workspace_id,
)
from .helpers import submit, text_of
from .marketplace import call_spi, enter_login_free, login_free_url, spi_time

UID = "1380000000000001"
OWNER, OWNER_EMAIL, BILLING_EMAIL = "acme_owner", "acme_owner@acme.example", "billing@acme.example"
DAY = 24 * 3600


@pytest.fixture
def bound(client, app, db, smtp, frozen_clock):
    """生产环境 of acme_billing, settled through a fresh instance of UID; the mailbox emptied."""
    add_billing_account()
    instance_id = activate_by_binding(client, app, smtp, UID)
    smtp.clear()
    return instance_id


def workspace(db, name: str = "生产环境") -> Workspace:
    db.session.expire_all()
    return db.session.scalar(select(Workspace).filter_by(name=name))


def instance(db, instance_id: str) -> MarketplaceInstance:
    db.session.expire_all()
    return db.session.scalar(select(MarketplaceInstance).filter_by(instance_id=instance_id))


def expire(client, app, instance_id: str):
    response = call_spi(client, app, action="expiredInstance", instanceId=instance_id)
    assert response.get_json() == {"success": True}
    return response


def renew(client, app, instance_id: str, order_id: str, days: int = 730):
    from wizard import clock

    expired_on = spi_time(clock.now() + timedelta(days=days))
    return call_spi(client, app, action="renewInstance", instanceId=instance_id, orderId=order_id, expiredOn=expired_on)


def add_member(db, username: str = "acme_dev") -> GuanceAccount:
    member = GuanceAccount(
        site="cn1", username=username, email=f"{username}@acme.example", password_hash=generate_password_hash(PASSWORD)
    )
    db.session.add(WorkspaceMember(workspace=workspace(db), account=member, role="member"))
    db.session.commit()
    return member


def log_in(client, username: str = OWNER):
    return submit(client, "/login/pwd", {"site": "cn1", "username": username, "password": PASSWORD})


def members(db) -> set[str]:
    db.session.expire_all()
    return set(
        db.session.scalars(
            select(GuanceAccount.username).join(WorkspaceMember).filter_by(workspace_id=workspace_id("生产环境"))
        )
    )


def subjects(smtp, to: str | None = None) -> list[str]:
    return [message.subject for message in reversed(smtp.messages(to))]


UNLOCK_LINK = re.compile(r'href="(/unlock/[^"/]+)"')


def unlock_link(page: str) -> str:
    return UNLOCK_LINK.search(page).group(1)


# ---- X1: the countdown starts ----


def test_expiry_starts_the_countdown_and_tells_the_owner_and_the_billing_account(client, app, db, smtp, bound):
    expire(client, app, bound)
    found = workspace(db)
    assert found.status == "locking"
    assert found.lock_due_at - found.countdown_started_at == timedelta(days=14)
    assert subjects(smtp, OWNER_EMAIL) == subjects(smtp, BILLING_EMAIL) == ["工作空间「生产环境」将于 14 天后锁定"]
    email = smtp.messages(OWNER_EMAIL)[0]
    for fact in ("生产环境", UID, bound, "2026年12月10日", "数据将被删除"):
        assert fact in email.text and fact in email.html, fact


def test_the_countdown_length_is_a_setting(client, app, db, bound):
    app.config["LOCK_COUNTDOWN_DAYS"] = 3
    expire(client, app, bound)
    found = workspace(db)
    assert found.lock_due_at - found.countdown_started_at == timedelta(days=3)


def test_an_instance_past_its_expiry_date_starts_the_countdown_without_expired_instance(
    client, app, db, smtp, bound, frozen_clock
):
    frozen_clock.advance(366 * DAY)
    assert lifecycle.run_periodic().expired == 1
    assert (instance(db, bound).status, workspace(db).status) == ("expired", "locking")
    assert lifecycle.run_periodic().expired == 0
    assert subjects(smtp, OWNER_EMAIL) == ["工作空间「生产环境」将于 14 天后锁定"]


def test_login_free_notices_an_expiry_date_the_job_has_not_seen_yet(client, app, db, bound, frozen_clock):
    frozen_clock.advance(366 * DAY)
    response = client.get(login_free_url(app, bound, frozen_clock.now()))
    assert response.headers["Location"] == "/lock"
    assert workspace(db).status == "locking"


def test_login_free_on_an_expired_instance_shows_the_lock_page(client, app, db, bound, frozen_clock):
    expire(client, app, bound)
    frozen_clock.advance(3 * DAY + 60)
    assert client.get(login_free_url(app, bound, frozen_clock.now())).headers["Location"] == "/lock"
    page = text_of(client.get("/lock"))
    assert "工作空间将于 11 天后锁定" in page and "生产环境" in page and UID in page and bound in page
    assert "数据将被删除" in page and "立即解锁" in page
    assert unlock_link(page) and f'href="/console/workspaces/{workspace_id("生产环境")}/dissolve"' in page
    # No wizard step runs on an expired instance: each leads to the lock page.
    for url in ("/activate/success", "/bind/workspaces", "/activate/"):
        assert client.get(url).headers["Location"] == "/lock", url


def test_members_keep_read_access_and_see_the_banner(client, app, db, bound):
    add_member(db)
    expire(client, app, bound)
    assert log_in(client, "acme_dev").headers["Location"] == f"/console/workspaces/{workspace_id('生产环境')}/lock"
    console = text_of(client.get("/console/"))
    assert "工作空间「生产环境」将于 14 天后锁定" in console and "锁定倒计时：14 天" in console
    assert "从安装 DataKit 开始" in console  # still readable
    lock = client.get(f"/console/workspaces/{workspace_id('生产环境')}/lock")
    assert lock.status_code == 200 and "立即解锁" in text_of(lock)


def test_the_lock_page_is_for_members_only(client, app, db, bound):
    expire(client, app, bound)
    add_billing_account("other_billing", "other@acme.example", workspaces=("别人的空间",), owner_username="stranger")
    log_in(client, "stranger")
    assert client.get(f"/console/workspaces/{workspace_id('生产环境')}/lock").status_code == 404
    assert client.get(f"/console/workspaces/{2**40}/lock").status_code == 404


# ---- The countdown's end ----


def test_the_end_of_the_countdown_locks_and_wipes_once(client, app, db, smtp, bound, frozen_clock):
    add_member(db)
    expire(client, app, bound)
    frozen_clock.advance(14 * DAY - 1)
    assert lifecycle.run_periodic().locked == 0
    frozen_clock.advance(1)
    assert lifecycle.run_periodic().locked == 1
    assert lifecycle.run_periodic().locked == 0  # idempotent
    found = workspace(db)
    assert (found.status, found.locked_at) == ("locked", frozen_clock.now())
    assert members(db) == {OWNER}  # the owner keeps access, to unlock or 解散
    assert subjects(smtp, OWNER_EMAIL).count("工作空间「生产环境」已锁定，数据已删除") == 1
    log_in(client)
    assert "已锁定" in text_of(client.get(f"/console/workspaces/{found.id}/lock"))


def test_reminders_go_out_seven_days_and_one_day_before_once_each(client, app, db, smtp, bound, frozen_clock):
    expire(client, app, bound)
    frozen_clock.advance(7 * DAY - 60)
    assert lifecycle.run_periodic().reminded == 0
    frozen_clock.advance(60)
    assert lifecycle.run_periodic().reminded == 1
    assert lifecycle.run_periodic().reminded == 0
    frozen_clock.advance(6 * DAY)
    assert lifecycle.run_periodic().reminded == 1
    assert subjects(smtp, OWNER_EMAIL) == [
        "工作空间「生产环境」将于 14 天后锁定",
        "提醒：工作空间「生产环境」将于 7 天后锁定",
        "提醒：工作空间「生产环境」将于 1 天后锁定",
    ]
    assert subjects(smtp, BILLING_EMAIL) == subjects(smtp, OWNER_EMAIL)  # the billing-center account too
    assert UID in smtp.messages(OWNER_EMAIL)[0].text and bound in smtp.messages(OWNER_EMAIL)[0].text


def test_a_countdown_shorter_than_a_reminder_skips_it(client, app, db, smtp, bound, frozen_clock):
    app.config["LOCK_COUNTDOWN_DAYS"] = 3
    expire(client, app, bound)
    frozen_clock.advance(2 * DAY)
    assert lifecycle.run_periodic().reminded == 1
    assert "提醒：工作空间「生产环境」将于 1 天后锁定" in subjects(smtp, OWNER_EMAIL)
    assert not any("7 天" in subject for subject in subjects(smtp))


def test_the_flask_command_runs_the_periodic_work(app, bound, frozen_clock):
    output = app.test_cli_runner().invoke(args=["lifecycle", "run"]).output
    assert output.startswith("Expired 0 instances, sent 0 reminders, locked 0 workspaces")


# ---- Unlocking ----


def test_a_renewal_during_the_countdown_unlocks_at_once(client, app, db, smtp, bound):
    expire(client, app, bound)
    assert renew(client, app, bound, "renew-1").get_json() == {"success": True}
    assert (instance(db, bound).status, workspace(db).status) == ("active", "active")
    assert workspace(db).lock_due_at is None
    assert subjects(smtp, OWNER_EMAIL)[-1] == "工作空间「生产环境」已解锁"
    assert lifecycle.run_periodic().locked == 0


def test_a_renewal_after_the_lock_unlocks_but_the_data_stays_wiped(client, app, db, bound, frozen_clock):
    add_member(db)
    expire(client, app, bound)
    frozen_clock.advance(15 * DAY)
    lifecycle.run_periodic()
    renew(client, app, bound, "renew-1")
    assert workspace(db).status == "active" and members(db) == {OWNER}


def open_unlock_choices(client, app, bound):
    """免登 → lock page → 立即解锁: the link opens the choices (X3)."""
    client.get(login_free_url(app, bound))
    link = unlock_link(text_of(client.get("/lock")))
    assert client.get(link).headers["Location"] == "/unlock/"
    return link


def test_the_unlock_link_opens_the_choices_once(client, app, db, bound):
    expire(client, app, bound)
    link = open_unlock_choices(client, app, bound)
    page = text_of(client.get("/unlock/"))
    assert "续费商品实例" in page and "切换为费用中心账号结算" in page and "acme_billing" in page
    assert f"http://127.0.0.1:5001/instances?instanceId={bound}" in page  # 已购买的服务, that instance
    again = client.get(link)
    assert again.status_code == 400 and "已经使用过" in text_of(again)


def test_the_unlock_link_expires(client, app, db, bound, frozen_clock):
    expire(client, app, bound)
    client.get(login_free_url(app, bound))
    link = unlock_link(text_of(client.get("/lock")))
    frozen_clock.advance(app.config["UNLOCK_LINK_TTL_SECONDS"] + 1)
    refused = client.get(link)
    assert refused.status_code == 400 and "已过期" in text_of(refused)


@pytest.mark.parametrize("mutate", [lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), lambda t: "x" + t])
def test_a_tampered_unlock_link_opens_nothing(client, app, db, bound, mutate):
    expire(client, app, bound)
    client.get(login_free_url(app, bound))
    link = unlock_link(text_of(client.get("/lock")))
    refused = client.get("/unlock/" + mutate(link.removeprefix("/unlock/")))
    assert refused.status_code == 400 and "链接无效" in text_of(refused)
    assert client.get("/unlock/").status_code == 403


def test_the_choices_need_the_link(client, app, bound):
    page = client.get("/unlock/")
    assert page.status_code == 403 and "需要有效的解锁链接" in text_of(page)


def test_switching_to_billing_center_settlement_with_the_accounts_code_unlocks(
    client, app, db, smtp, bound, frozen_clock
):
    expire(client, app, bound)
    open_unlock_choices(client, app, bound)
    frozen_clock.advance(61)  # past the resend cooldown of the code that bound acme_billing
    # The username field is only shown: a code asked for another account still goes to the workspace's.
    sent = send_code(client, "/unlock/", {"username": "someone_else"})
    assert "验证码已发送" in text_of(sent)
    assert smtp.messages(BILLING_EMAIL)[0].subject == "观测云验证码：切换为费用中心账号结算"
    wrong = submit(client, "/unlock/", {"code": "000000" if smtp.last_code(BILLING_EMAIL) != "000000" else "111111"})
    assert "验证码错误" in text_of(wrong) and workspace(db).status == "locking"
    done = submit(client, "/unlock/", {"code": smtp.last_code(BILLING_EMAIL)}, follow_redirects=True)
    assert "工作空间已解锁，改由费用中心账号结算" in text_of(done)
    found, settled = workspace(db), instance(db, bound)
    assert (found.status, found.settlement_cause) == ("active", "switched_to_billing_center")
    assert found.settlement_changed_at is not None
    assert (settled.workspace_id, settled.released_workspace_id) == (None, found.id)
    assert subjects(smtp, OWNER_EMAIL)[-1] == "工作空间「生产环境」已解锁"
    log_in(client)
    assert "费用中心账号结算（acme_billing）" in text_of(client.get("/console/"))


def test_a_refused_switch_keeps_the_code(client, app, db, smtp, bound, frozen_clock, monkeypatch):
    """A switch refused after the code was found right leaves the code valid for the next try."""
    from wizard.services import lifecycle

    original = lifecycle.switch_to_billing_center

    def refuse_once(workspace, language):
        monkeypatch.setattr(lifecycle, "switch_to_billing_center", original)
        raise lifecycle.Refused(lifecycle.NOT_LOCKED)

    expire(client, app, bound)
    open_unlock_choices(client, app, bound)
    frozen_clock.advance(61)
    send_code(client, "/unlock/", {"username": "acme_billing"})
    monkeypatch.setattr(lifecycle, "switch_to_billing_center", refuse_once)
    code = smtp.last_code(BILLING_EMAIL)
    refused = text_of(submit(client, "/unlock/", {"code": code}))
    assert "无需解锁" in refused and workspace(db).status == "locking"
    done = submit(client, "/unlock/", {"code": code}, follow_redirects=True)
    assert "工作空间已解锁，改由费用中心账号结算" in text_of(done) and workspace(db).status == "active"


# ---- X2: 解散 ----


def test_only_the_owner_can_dissolve(client, app, db, bound):
    add_member(db)
    log_in(client, "acme_dev")
    response = submit(
        client, "/console/", {"name": "生产环境"}, action=f"/console/workspaces/{workspace_id('生产环境')}/dissolve"
    )
    assert response.status_code == 403
    page = client.get(f"/console/workspaces/{workspace_id('生产环境')}/dissolve")
    assert page.status_code == 403 and "只有工作空间的所有者可以解散" in text_of(page)
    assert workspace(db).status == "active"


def test_dissolving_needs_the_exact_name_and_keeps_what_was_typed(client, app, db, bound):
    log_in(client)
    url = f"/console/workspaces/{workspace_id('生产环境')}/dissolve"
    page = text_of(submit(client, url, {"name": "生产"}))
    assert "输入的名称与工作空间名称不一致" in page and 'value="生产"' in page
    assert workspace(db).status == "active"


def test_dissolving_deletes_the_workspace_and_nothing_else(client, app, db, smtp, bound):
    add_member(db)
    expire(client, app, bound)
    billing_before = db.session.scalar(select(func.count()).select_from(BillingAccount))
    log_in(client)
    url = f"/console/workspaces/{workspace_id('生产环境')}/dissolve"
    done = submit(client, url, {"name": " 生产环境 "}, follow_redirects=True)
    assert "工作空间「生产环境」已解散" in text_of(done)
    found, settled = workspace(db), instance(db, bound)
    assert (found.status, found.dissolved_at is not None, members(db)) == ("dissolved", True, set())
    assert (settled.workspace_id, settled.released_workspace_id) == (None, found.id)
    # The billing-center account, its other workspace and the Aliyun binding are untouched.
    assert db.session.scalar(select(func.count()).select_from(BillingAccount)) == billing_before
    assert workspace(db, "测试环境").status == "active"
    assert db.session.scalar(select(WorkspaceMember.account_id).filter_by(workspace_id=workspace_id("测试环境")))
    assert db.session.scalar(select(CloudAccountBinding.ali_uid)) == UID
    assert "已解散" in subjects(smtp, OWNER_EMAIL)[-1]
    # The instance now shows the workspace as released.
    refused = client.get(login_free_url(app, bound))
    assert refused.status_code == 403 and "此前绑定的工作空间「生产环境」已解散" in text_of(refused)


# ---- Release ----


def test_release_moves_the_workspace_to_billing_center_settlement_and_emails_the_owner(
    client, app, db, smtp, bound, frozen_clock
):
    expire(client, app, bound)
    call_spi(client, app, action="releaseInstance", instanceId=bound, isRefund="false")
    found = workspace(db)
    assert (found.status, found.settlement_cause) == ("active", "instance_released")
    assert found.settlement_changed_at == frozen_clock.now()
    assert subjects(smtp, OWNER_EMAIL)[-1] == "工作空间「生产环境」已转为费用中心账号结算"
    email = smtp.messages(OWNER_EMAIL)[0]
    assert "acme_billing" in email.text and "锁定倒计时随之结束" in email.text and bound in email.text
    page = client.get(login_free_url(app, bound))
    text = text_of(page)
    assert "实例已关闭" in text and "已转为费用中心账号结算" in text and "/login/pwd?site=cn1" in text


# ---- The language the customer used ----


def test_lifecycle_emails_are_in_the_language_the_customer_used(client, app, db, smtp, bound):
    client.set_cookie("lang", "en")
    client.get(login_free_url(app, bound))  # the customer came back, in English
    expire(client, app, bound)
    email = smtp.messages(OWNER_EMAIL)[0]
    assert email.subject == 'Workspace "生产环境" will be locked in 14 days'
    assert "December 10, 2026" in email.text and UID in email.text


# ---- A workspace settled through one Aliyun account cannot move to another while that binding is live ----


def test_another_cloud_account_cannot_take_the_workspace_while_its_instance_lives(
    client, app, db, smtp, bound, frozen_clock
):
    expire(client, app, bound)  # expired: the binding is still live during the countdown
    frozen_clock.advance(61)  # past the resend cooldown of the code that bound acme_billing
    other = app.test_client()
    second = enter_login_free(other, app, "1380000000000099")
    bind_billing(other, smtp)
    assert "不可绑定" in text_of(other.get("/bind/workspaces"))
    bind_workspace(other, workspace_id("生产环境"))
    assert instance(db, second).workspace_id is None
    call_spi(client, app, action="releaseInstance", instanceId=bound, isRefund="false")
    bind_workspace(other, workspace_id("生产环境"))
    assert instance(db, second).workspace_id == workspace_id("生产环境")
