"""After activation: the lock countdown (X1), the lock and wipe, 立即解锁 (X3), 解散 (X2), release, and the
emails that tell the customer. The countdown's end is driven by the frozen clock, never by waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from devtools.customer import Browser
from devtools.factories import GuanceAccountFactory
from wizard.models import (
    BillingAccount,
    CloudAccountBinding,
    GuanceAccount,
    MarketplaceInstance,
    Workspace,
    WorkspaceMember,
)
from wizard.services import lifecycle

from .activation import ACME, PASSWORD, activate_by_binding, add_billing_account, workspace_id
from .conftest import customer_of
from .helpers import refuse_once, run_lifecycle
from .marketplace import call_spi, login_free_url, spi_time

UID = "1380000000000001"
OWNER, OWNER_EMAIL, BILLING_EMAIL = "acme_owner", "acme_owner@acme.example", "billing@acme.example"
DAY = 24 * 3600


@pytest.fixture
def bound(customer, db, smtp, frozen_clock):
    """生产环境 of acme_billing, settled through a fresh instance of UID; the mailbox emptied."""
    add_billing_account()
    instance_id = activate_by_binding(customer, UID)
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
    member = GuanceAccountFactory.build(username=username)
    db.session.add(WorkspaceMember(workspace=workspace(db), account=member, role="member"))
    db.session.commit()
    return member


def log_in(browser, username: str = OWNER):
    return browser.submit("/login/pwd", {"site": "cn1", "username": username, "password": PASSWORD})


def members(db) -> set[str]:
    db.session.expire_all()
    return set(
        db.session.scalars(
            select(GuanceAccount.username).join(WorkspaceMember).filter_by(workspace_id=workspace_id("生产环境"))
        )
    )


def subjects(smtp, to: str | None = None) -> list[str]:
    return [message.subject for message in reversed(smtp.messages(to))]


def unlock_link(page) -> str:
    """立即解锁's signed link on a lock page."""
    return page.link("a[href^='/unlock/']")


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
    assert run_lifecycle().expired == 1
    assert (instance(db, bound).status, workspace(db).status) == ("expired", "locking")
    assert run_lifecycle().expired == 0
    assert subjects(smtp, OWNER_EMAIL) == ["工作空间「生产环境」将于 14 天后锁定"]


def test_login_free_notices_an_expiry_date_the_job_has_not_seen_yet(customer, db, bound, frozen_clock):
    frozen_clock.advance(366 * DAY)
    customer.login_free(moment=frozen_clock.now(), lands="/lock")
    assert workspace(db).status == "locking"


def test_login_free_on_an_expired_instance_shows_the_lock_page(client, app, browser, customer, db, bound, frozen_clock):
    expire(client, app, bound)
    frozen_clock.advance(3 * DAY + 60)
    page = customer.login_free(moment=frozen_clock.now(), lands="/lock")
    assert page.title == "工作空间将于 11 天后锁定"
    assert "生产环境" in page.text and UID in page.text and bound in page.text and "数据将被删除" in page.text
    assert page.text_of("a[href^='/unlock/']") == "立即解锁" and unlock_link(page)
    assert page.links("a[href$='/dissolve']") == [f"/console/workspaces/{workspace_id('生产环境')}/dissolve"]
    # No wizard step runs on an expired instance: each leads to the lock page.
    for url in ("/activate/success", "/bind/workspaces", "/activate/"):
        assert browser.get(url).location == "/lock", url


def test_members_keep_read_access_and_see_the_banner(client, app, browser, db, bound):
    add_member(db)
    expire(client, app, bound)
    assert log_in(browser, "acme_dev").location == f"/console/workspaces/{workspace_id('生产环境')}/lock"
    console = browser.get("/console/")
    assert "工作空间「生产环境」将于 14 天后锁定" in console.text_of(".lock-banner")
    assert "锁定倒计时：14 天" in console.text
    assert (
        "从安装 DataKit 开始" in console.text and "/console/datakit" not in console.links()
    )  # readable, takes no data
    lock = browser.get(f"/console/workspaces/{workspace_id('生产环境')}/lock")
    assert lock.status == 200 and lock.text_of("a[href^='/unlock/']") == "立即解锁"


def test_the_lock_page_is_for_members_only(client, app, browser, db, bound):
    expire(client, app, bound)
    add_billing_account("other_billing", "other@acme.example", workspaces=("别人的空间",), owner_username="stranger")
    log_in(browser, "stranger")
    assert client.get(f"/console/workspaces/{workspace_id('生产环境')}/lock").status_code == 404
    assert client.get(f"/console/workspaces/{2**40}/lock").status_code == 404


def datakit_button(console):
    """生产环境's start button: a link when the workspace takes data, a disabled button otherwise."""
    named = console.find(f"#workspace-{workspace_id('生产环境')}")
    card = named if named.name == "article" else named.find_parent("article")
    return next(element for element in card.select("a, button") if "从安装 DataKit 开始" in element.get_text())


def test_the_console_makes_a_frozen_or_locked_workspace_unmistakable(client, app, browser, db, bound, frozen_clock):
    log_in(browser)
    active = browser.get("/console/")
    assert datakit_button(active).get("href") == "/console/datakit" and active.find(".workspace-state") is None
    expire(client, app, bound)
    frozen = browser.get("/console/")
    assert frozen.find("[data-state=locking]") and "工作空间已冻结：只能查看，不能写入" in frozen.text
    assert "14 天后工作空间将被锁定" in frozen.text and "解锁后可用" in frozen.text
    assert datakit_button(frozen).has_attr("disabled")
    frozen_clock.advance(14 * DAY)
    run_lifecycle()
    log_in(browser)  # 14 days later: a new session
    locked = browser.get("/console/")
    assert locked.find("[data-state=locked]") and "工作空间已锁定：不能使用" in locked.text
    assert datakit_button(locked).has_attr("disabled")


# ---- The countdown's end ----


def test_the_end_of_the_countdown_locks_and_wipes_once(client, app, browser, db, smtp, bound, frozen_clock):
    add_member(db)
    expire(client, app, bound)
    frozen_clock.advance(14 * DAY - 1)
    assert run_lifecycle().locked == 0
    frozen_clock.advance(1)
    assert run_lifecycle().locked == 1
    assert run_lifecycle().locked == 0  # idempotent
    found = workspace(db)
    assert (found.status, found.locked_at) == ("locked", frozen_clock.now())
    assert members(db) == {OWNER}  # the owner keeps access, to unlock or 解散
    assert subjects(smtp, OWNER_EMAIL).count("工作空间「生产环境」已锁定，数据已删除") == 1
    log_in(browser)
    assert browser.get(f"/console/workspaces/{found.id}/lock").title == "工作空间已锁定"


def test_reminders_go_out_seven_days_and_one_day_before_once_each(client, app, db, smtp, bound, frozen_clock):
    expire(client, app, bound)
    frozen_clock.advance(7 * DAY - 60)
    assert run_lifecycle().reminded == 0
    frozen_clock.advance(60)
    assert run_lifecycle().reminded == 1
    assert run_lifecycle().reminded == 0
    frozen_clock.advance(6 * DAY)
    assert run_lifecycle().reminded == 1
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
    assert run_lifecycle().reminded == 1
    assert "提醒：工作空间「生产环境」将于 1 天后锁定" in subjects(smtp, OWNER_EMAIL)
    assert not any("7 天" in subject for subject in subjects(smtp))


def test_the_flask_command_runs_the_periodic_work(app, bound, frozen_clock):
    output = app.test_cli_runner().invoke(args=["lifecycle", "run"]).stdout
    assert output.startswith("Expired 0 instances, sent 0 reminders, locked 0 workspaces")


# ---- Unlocking ----


def test_a_renewal_during_the_countdown_unlocks_at_once(client, app, db, smtp, bound):
    expire(client, app, bound)
    assert renew(client, app, bound, "renew-1").get_json() == {"success": True}
    assert (instance(db, bound).status, workspace(db).status) == ("active", "active")
    assert workspace(db).lock_due_at is None
    assert subjects(smtp, OWNER_EMAIL)[-1] == "工作空间「生产环境」已解锁"
    assert run_lifecycle().locked == 0


def test_a_renewal_after_the_lock_unlocks_but_the_data_stays_wiped(client, app, db, bound, frozen_clock):
    add_member(db)
    expire(client, app, bound)
    frozen_clock.advance(15 * DAY)
    run_lifecycle()
    renew(client, app, bound, "renew-1")
    assert workspace(db).status == "active" and members(db) == {OWNER}


def lock_page_link(customer) -> str:
    """免登 → lock page: 立即解锁's link."""
    return unlock_link(customer.login_free(lands="/lock"))


def open_unlock_choices(customer):
    """免登 → lock page → 立即解锁: the link opens the choices (X3)."""
    link = lock_page_link(customer)
    customer.redirected(customer.browser.get(link), "/unlock/")
    return link


def test_the_unlock_link_opens_the_choices_once(client, app, browser, customer, db, bound):
    expire(client, app, bound)
    link = open_unlock_choices(customer)
    page = browser.get("/unlock/")
    assert {"续费商品实例", "切换为费用中心账号结算"} <= set(page.headings) and "acme_billing" in page.text
    assert f"http://127.0.0.1:5001/instances?instanceId={bound}" in page.links()  # 已购买的服务, that instance
    again = browser.get(link)
    assert again.status == 400 and "已经使用过" in again.text


def test_the_unlock_link_expires(client, app, browser, customer, db, bound, frozen_clock):
    expire(client, app, bound)
    link = lock_page_link(customer)
    frozen_clock.advance(app.config["UNLOCK_LINK_TTL_SECONDS"] + 1)
    refused = browser.get(link)
    assert refused.status == 400 and "已过期" in refused.text


@pytest.mark.parametrize("mutate", [lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), lambda t: "x" + t])
def test_a_tampered_unlock_link_opens_nothing(client, app, browser, customer, db, bound, mutate):
    expire(client, app, bound)
    link = lock_page_link(customer)
    refused = browser.get("/unlock/" + mutate(link.removeprefix("/unlock/")))
    assert refused.status == 400 and "链接无效" in refused.text
    assert browser.get("/unlock/").status == 403


def test_the_choices_need_the_link(browser, bound):
    page = browser.get("/unlock/")
    assert page.status == 403 and "需要有效的解锁链接" in page.text


def test_switching_to_billing_center_settlement_with_the_accounts_code_unlocks(
    client, app, browser, customer, db, smtp, bound, frozen_clock
):
    expire(client, app, bound)
    open_unlock_choices(customer)
    frozen_clock.advance(61)  # past the resend cooldown of the code that bound acme_billing
    # The username field is only shown: a code asked for another account still goes to the workspace's.
    code = customer.send_code("someone_else", BILLING_EMAIL, javascript=False)
    assert "验证码已发送" in customer.page.code_status.text
    assert smtp.messages(BILLING_EMAIL)[0].subject == "观测云验证码：切换为费用中心账号结算"
    wrong = browser.submit("/unlock/", {"code": "000000" if code != "000000" else "111111"})
    assert "验证码错误" in wrong.error("code") and workspace(db).status == "locking"
    done = browser.submit("/unlock/", {"code": code}, follow=True)
    assert "工作空间已解锁，改由费用中心账号结算" in done.flashed("success")
    found, settled = workspace(db), instance(db, bound)
    assert (found.status, found.settlement_cause) == ("active", "switched_to_billing_center")
    assert found.settlement_changed_at is not None
    assert (settled.workspace_id, settled.released_workspace_id) == (None, found.id)
    assert subjects(smtp, OWNER_EMAIL)[-1] == "工作空间「生产环境」已解锁"
    log_in(browser)
    assert "费用中心账号结算（acme_billing）" in browser.get("/console/").text


def test_a_refused_switch_keeps_the_code(client, app, customer, db, smtp, bound, frozen_clock, monkeypatch):
    """A switch refused after the code was found right leaves the code valid for the next try."""

    expire(client, app, bound)
    open_unlock_choices(customer)
    frozen_clock.advance(61)
    Browser.of(client).submit("/unlock/", {"username": "acme_billing", "send_code": "1"})
    refuse_once(monkeypatch, lifecycle, "switch_to_billing_center", lifecycle.Refused(lifecycle.NOT_LOCKED))
    code = smtp.last_code(BILLING_EMAIL)
    refused = Browser.of(client).submit("/unlock/", {"code": code}).text
    assert "无需解锁" in refused and workspace(db).status == "locking"
    done = Browser.of(client).submit("/unlock/", {"code": code}, follow=True)
    assert "工作空间已解锁，改由费用中心账号结算" in done.text and workspace(db).status == "active"


# ---- X2: 解散 ----


def test_only_the_owner_can_dissolve(browser, db, bound):
    add_member(db)
    log_in(browser, "acme_dev")
    url = f"/console/workspaces/{workspace_id('生产环境')}/dissolve"
    assert browser.submit("/console/", {"name": "生产环境"}, action=url).status == 403
    page = browser.get(url)
    assert page.status == 403 and "只有工作空间的所有者可以解散" in page.text
    assert workspace(db).status == "active"


def test_dissolving_needs_the_exact_name_and_keeps_what_was_typed(browser, db, bound):
    log_in(browser)
    url = f"/console/workspaces/{workspace_id('生产环境')}/dissolve"
    page = browser.submit(url, {"name": "生产"})
    assert "输入的名称与工作空间名称不一致" in page.error("name") and page.value("name") == "生产"
    assert workspace(db).status == "active"


def test_dissolving_deletes_the_workspace_and_nothing_else(client, app, browser, customer, db, smtp, bound):
    add_member(db)
    expire(client, app, bound)
    billing_before = db.session.scalar(select(func.count()).select_from(BillingAccount))
    log_in(browser)
    url = f"/console/workspaces/{workspace_id('生产环境')}/dissolve"
    done = browser.submit(url, {"name": " 生产环境 "}, follow=True)
    assert "工作空间「生产环境」已解散" in done.flashed("success")
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
    refused = browser.get(login_free_url(app, bound))
    assert refused.status == 403 and "此前绑定的工作空间「生产环境」已解散" in refused.text


# ---- Release ----


def test_release_moves_the_workspace_to_billing_center_settlement_and_emails_the_owner(
    client, app, browser, db, smtp, bound, frozen_clock
):
    expire(client, app, bound)
    call_spi(client, app, action="releaseInstance", instanceId=bound, isRefund="false")
    found = workspace(db)
    assert (found.status, found.settlement_cause) == ("active", "instance_released")
    assert found.settlement_changed_at == frozen_clock.now()
    assert subjects(smtp, OWNER_EMAIL)[-1] == "工作空间「生产环境」已转为费用中心账号结算"
    email = smtp.messages(OWNER_EMAIL)[0]
    assert "acme_billing" in email.text and "锁定倒计时随之结束" in email.text and bound in email.text
    page = browser.get(login_free_url(app, bound))
    assert page.title == "实例已关闭" and "已转为费用中心账号结算" in page.text
    assert "/login/pwd?site=cn1" in page.links()


# ---- The language the customer used ----


def test_lifecycle_emails_are_in_the_language_the_customer_used(client, app, customer, db, smtp, bound):
    client.set_cookie("lang", "en")
    customer.login_free(lands="/login/pwd?site=cn1&username=acme_owner")  # the customer came back, in English
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
    other = customer_of(app, smtp)
    other.arrive("1380000000000099")
    b2 = other.bind_billing(*ACME)
    states = {name: state for name, _site, state, _action in b2.rows()}
    assert states["生产环境"].startswith("不可绑定")
    bind = f"/bind/workspaces/{workspace_id('生产环境')}"
    other.browser.submit(b2, action=bind)
    assert instance(db, other.instance_id).workspace_id is None
    call_spi(client, app, action="releaseInstance", instanceId=bound, isRefund="false")
    other.bind_workspace(workspace_id("生产环境"))
    assert instance(db, other.instance_id).workspace_id == workspace_id("生产环境")
