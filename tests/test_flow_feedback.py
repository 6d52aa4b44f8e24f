"""What the flow tells the customer (issue 21): the DataKit token, second tabs, codes, navigation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from devtools.customer import FlowError
from wizard.models import MarketplaceInstance, Workspace

from .activation import ACME, PASSWORD, activate_by_binding, add_billing_account, workspace_id

UID = "1380000000000001"
KNOWN_OR_NOT = "若该账号存在，验证码已发送至其绑定邮箱，请查收"


@pytest.fixture
def billing(db):
    return add_billing_account()


@pytest.fixture
def arrived(customer, billing):
    """A customer arrived through 免登 (G1); returns the instance ID."""
    customer.arrive(UID)
    return customer.instance_id


def instance_workspace(db, instance_id: str) -> int | None:
    db.session.expire_all()
    return db.session.scalar(select(MarketplaceInstance.workspace_id).filter_by(instance_id=instance_id))


# ---- Item 3: the DataKit page shows the workspace's own token ----


def test_each_workspace_has_its_own_token_shown_only_to_its_members(browser, customer, db, billing):
    activate_by_binding(customer)
    tokens = db.session.scalars(select(Workspace.token)).all()
    assert len(set(tokens)) == len(tokens) == 2 and all(re.fullmatch(r"tkn_[0-9a-f]{32}", t) for t in tokens)
    assert browser.get("/console/datakit").status == 302  # not signed in: the login page
    customer.log_in("acme_owner", PASSWORD)
    page = browser.get("/console/datakit").text
    production = db.session.scalar(select(Workspace).filter_by(name="生产环境"))
    assert f"https://openway.guance.com?token={production.token}" in page
    assert "<工作空间 token>" not in page and "install.sh" in page

    add_billing_account("other_billing", "other@acme.example", workspaces=("别人的空间",), owner_username="other")
    other = db.session.scalar(select(Workspace).filter_by(name="别人的空间"))
    assert other.token not in browser.get("/console/datakit").text


# ---- Item 4: two tabs ----


def test_a_second_tab_binding_another_workspace_is_told_what_already_happened(browser, customer, db, arrived):
    later_tab = customer.bind_billing(*ACME)  # both tabs show B2
    customer.bind_workspace(workspace_id("生产环境"))
    answer = browser.submit(later_tab, action=f"/bind/workspaces/{workspace_id('测试环境')}")
    assert answer.location == "/activate/success"
    assert "该实例已绑定工作空间「生产环境」，此页面的提交未执行。" in browser.get("/activate/success").flashed()
    assert instance_workspace(db, arrived) == workspace_id("生产环境")


def test_a_tab_whose_session_a_later_login_free_replaced_explains_it(browser, customer, arrived):
    old_tab = browser.get("/activate/")
    second = customer.alibaba.create_instance(UID)
    customer.login_free(second)  # 免登 for another instance in another tab
    answer = browser.submit(old_tab, {"path": "bind"})
    assert answer.status == 400 and answer.text_of("h1#error-title") == "此页面已失效"  # what happened, first
    assert "此页面已在另一次免登后失效，请回到最新的页面或重新免登。" in answer.text
    assert answer.text_of("a[href='/activate/']") == "回到最新的页面"


def test_an_old_page_without_another_login_free_keeps_the_usual_message(browser, arrived):
    browser.get("/activate/")  # this session's own form token exists; the page sends a forged one
    answer = browser.post("/activate/", {"csrf_token": "stale", "path": "bind"})
    assert answer.status == 400 and "另一次免登" not in answer.text


# ---- Item 5: codes ----


def test_a_pasted_code_with_a_space_is_accepted_and_the_field_does_not_cut_it(browser, customer, db, arrived):
    b1 = customer.on("/bind/billing")
    field = b1.field("code")
    assert not field.has_attr("maxlength")
    assert (field["inputmode"], field["autocomplete"]) == ("numeric", "one-time-code")
    code = customer.send_code("acme_billing", "billing@acme.example")
    answer = browser.submit(b1, {"username": "acme_billing", "code": f" {code[:3]} {code[3:]} "})
    assert answer.location == "/bind/workspaces"


def test_the_cooldown_follows_the_address(customer, arrived):
    customer.on("/bind/billing")
    customer.send_code("acme_billing", javascript=False)
    customer.send_code("acme_billing2", javascript=False)  # the corrected address: no wait
    assert customer.page.code_status.text == KNOWN_OR_NOT
    with pytest.raises(FlowError, match="秒后"):  # the first address still waits
        customer.send_code("acme_billing", javascript=False)


def test_an_unknown_username_reads_exactly_like_a_known_one(customer, arrived):
    customer.on("/bind/billing")
    customer.send_code("acme_billing", javascript=False)
    known = customer.page.code_status
    customer.send_code("nobody_here", javascript=False)
    assert known == customer.page.code_status and known.text == KNOWN_OR_NOT and "@" not in known.text


# ---- Item 6: navigation ----

BASIC = {
    "site": "cn1",
    "username": "newcorp",
    "password": "Correct-Horse-Battery-42",
    "confirm": "Correct-Horse-Battery-42",
    "email": "owner@newcorp.example",
    "phone": "13800000000",
}


def test_back_from_r2_keeps_what_r1_verified(browser, customer, smtp, arrived):
    customer.on("/register/basic")
    code = customer.send_code(BASIC["email"], BASIC["email"])
    assert browser.submit(customer.page, {**BASIC, "code": code}).location == "/register/company"
    sent = len(smtp.messages())
    r1 = browser.get("/register/basic")  # 上一步
    assert "已验证" in r1.text and r1.value("username") == "newcorp"
    again = browser.submit(r1, {**BASIC, "username": "newcorp2", "password": "", "confirm": ""})
    assert again.location == "/register/company" and len(smtp.messages()) == sent  # no new code
    assert "newcorp2" in browser.get("/register/company").text
    changed = browser.submit("/register/basic", {**BASIC, "email": "other@newcorp.example"})
    assert changed.error("code") == "请输入验证码"  # a changed address is proved again


def test_form_errors_redirect_to_the_page_which_shows_them_once(browser, arrived):
    b1 = browser.get("/bind/billing")
    answer = browser.transport.request("POST", "/bind/billing", data={"csrf_token": b1.csrf_token, "code": "1"})
    assert answer.status == 303 and answer.location == "/bind/billing"
    assert browser.get("/bind/billing").error("username") == "请输入用户名"
    assert browser.get("/bind/billing").error("username") == ""  # a refresh starts afresh


def test_the_language_switch_keeps_what_was_typed(browser, arrived):
    r1 = browser.get("/register/basic")
    switch = r1.find("button[formaction='/language?next=/register/basic']")
    assert switch is not None and switch["form"] == "page-form"
    typed = {"username": "typed_name", "email": "typed@example.com", "password": "Secret-Typed-Password-1"}
    browser.submit(r1, {**typed, "lang": "en"}, action="/language?next=/register/basic")
    english = browser.get("/register/basic")
    assert english.lang == "en" and english.value("username") == "typed_name"
    assert english.value("email") == "typed@example.com" and "Secret-Typed-Password-1" not in english.text


def test_every_wizard_page_links_back_to_the_marketplace_and_to_help(app, browser, arrived):
    for path in ("/activate/", "/register/basic", "/bind/billing"):
        page = browser.get(path)
        links = page.texts_of(".wizard-links a")
        assert page.text_of(f"a[href='{app.config['MARKETPLACE_CONSOLE_URL']}']") == "返回云市场", path
        assert any(link.startswith("帮助") for link in links), path
    browser.submit("/bind/billing", {"next": "/bind/billing"}, action="/bind/guide")
    b1 = browser.get("/bind/billing")
    assert "如何快速绑定阿里云账号结算" not in b1.text and b1.links("a[href='/bind/billing?guide=1']")
    assert "如何快速绑定阿里云账号结算" in browser.get("/bind/billing?guide=1").headings
