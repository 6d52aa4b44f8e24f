"""What the flow tells the customer (issue 21): the DataKit token, second tabs, codes, navigation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from wizard.models import MarketplaceInstance, Workspace

from .activation import PASSWORD, activate_by_binding, add_billing_account, bind_billing, workspace_id
from .helpers import csrf_token, submit, text_of
from .marketplace import create_instance, enter_login_free, login_free_url

UID = "1380000000000001"
OWNER = {"site": "cn1", "username": "acme_owner", "password": PASSWORD}


@pytest.fixture
def billing(db):
    return add_billing_account()


@pytest.fixture
def arrived(client, app, billing):
    return enter_login_free(client, app, UID)


# ---- Item 3: the DataKit page shows the workspace's own token ----


def test_each_workspace_has_its_own_token_shown_only_to_its_members(client, app, db, smtp, billing):
    activate_by_binding(client, app, smtp)
    tokens = db.session.scalars(select(Workspace.token)).all()
    assert len(set(tokens)) == len(tokens) == 2 and all(re.fullmatch(r"tkn_[0-9a-f]{32}", t) for t in tokens)
    assert client.get("/console/datakit").status_code == 302  # not signed in: the login page
    submit(client, "/login/pwd", OWNER)
    page = text_of(client.get("/console/datakit"))
    production = db.session.scalar(select(Workspace).filter_by(name="生产环境"))
    assert f"https://openway.guance.com?token={production.token}" in page
    assert "&lt;工作空间 token&gt;" not in page and "install.sh" in page

    add_billing_account("other_billing", "other@acme.example", workspaces=("别人的空间",), owner_username="other")
    other = db.session.scalar(select(Workspace).filter_by(name="别人的空间"))
    assert other.token not in page and other.token not in text_of(client.get("/console/datakit"))


# ---- Item 4: two tabs ----


def test_a_second_tab_binding_another_workspace_is_told_what_already_happened(client, app, db, smtp, arrived):
    bind_billing(client, smtp)
    later_tab = csrf_token(client.get("/bind/workspaces").data)  # both tabs show B2
    submit(client, "/bind/workspaces", action=f"/bind/workspaces/{workspace_id('生产环境')}")
    answer = client.post(f"/bind/workspaces/{workspace_id('测试环境')}", data={"csrf_token": later_tab})
    assert answer.headers["Location"] == "/activate/success"
    page = text_of(client.get("/activate/success"))
    assert "该实例已绑定工作空间「生产环境」，此页面的提交未执行。" in page
    db.session.expire_all()
    instance = db.session.scalar(select(MarketplaceInstance).filter_by(instance_id=arrived))
    assert instance.workspace_id == workspace_id("生产环境")


def test_a_tab_whose_session_a_later_login_free_replaced_explains_it(client, app, db, smtp, arrived):
    old_tab = csrf_token(client.get("/activate/").data)
    second = create_instance(client, app, UID)
    client.get(login_free_url(app, second))  # 免登 for another instance in another tab
    answer = client.post("/activate/", data={"csrf_token": old_tab, "path": "bind"})
    page = text_of(answer)
    assert answer.status_code == 400
    assert "此页面已在另一次免登后失效，请回到最新的页面或重新免登。" in page
    assert 'href="/activate/"' in page and "回到最新的页面" in page


def test_an_old_page_without_another_login_free_keeps_the_usual_message(client, arrived):
    client.get("/activate/")  # this session's own form token exists; the page sends a forged one
    answer = client.post("/activate/", data={"csrf_token": "stale", "path": "bind"})
    assert answer.status_code == 400 and "另一次免登" not in text_of(answer)


# ---- Item 5: codes ----


def test_a_pasted_code_with_a_space_is_accepted_and_the_field_does_not_cut_it(client, db, smtp, arrived):
    page = text_of(client.get("/bind/billing"))
    field = re.search(r'<input[^>]*name="code"[^>]*>', page).group(0)
    assert "maxlength" not in field and 'inputmode="numeric"' in field and 'autocomplete="one-time-code"' in field
    submit(client, "/bind/billing", {"username": "acme_billing", "send_code": "1"})
    code = smtp.last_code("billing@acme.example")
    answer = submit(client, "/bind/billing", {"username": "acme_billing", "code": f" {code[:3]} {code[3:]} "})
    assert answer.headers["Location"] == "/bind/workspaces"


def test_the_cooldown_follows_the_address(client, smtp, arrived):
    submit(client, "/bind/billing", {"username": "acme_billing", "send_code": "1"})
    corrected = text_of(submit(client, "/bind/billing", {"username": "acme_billing2", "send_code": "1"}))
    assert "若该账号存在，验证码已发送至其绑定邮箱" in corrected
    again = text_of(submit(client, "/bind/billing", {"username": "acme_billing", "send_code": "1"}))
    assert "若该账号存在" not in again and "秒后" in again


def test_an_unknown_username_reads_exactly_like_a_known_one(client, app, smtp, arrived):
    known = text_of(submit(client, "/bind/billing", {"username": "acme_billing", "send_code": "1"}))
    unknown = text_of(submit(client, "/bind/billing", {"username": "nobody_here", "send_code": "1"}))

    def status(page):
        return re.search(r'<p class="code-status[^"]*"[^>]*>([^<]*)</p>', page).group(1)

    assert status(known) == status(unknown) == "若该账号存在，验证码已发送至其绑定邮箱，请查收"
    assert "@" not in status(known)


# ---- Item 6: navigation ----

BASIC = {
    "site": "cn1",
    "username": "newcorp",
    "password": "Correct-Horse-Battery-42",
    "confirm": "Correct-Horse-Battery-42",
    "email": "owner@newcorp.example",
    "phone": "13800000000",
}


def fill_basic(client, smtp, **changes):
    data = {**BASIC, **changes}
    submit(client, "/register/basic", {"email": data["email"], "send_code": "1"})
    return submit(client, "/register/basic", {**data, "code": smtp.last_code(data["email"])})


def test_back_from_r2_keeps_what_r1_verified(client, db, smtp, arrived):
    assert fill_basic(client, smtp).headers["Location"] == "/register/company"
    sent = len(smtp.messages())
    r1 = text_of(client.get("/register/basic"))  # 上一步
    assert "已验证" in r1 and 'value="newcorp"' in r1
    again = submit(client, "/register/basic", {**BASIC, "username": "newcorp2", "password": "", "confirm": ""})
    assert again.headers["Location"] == "/register/company" and len(smtp.messages()) == sent  # no new code
    assert "newcorp2" in text_of(client.get("/register/company"))
    changed = text_of(submit(client, "/register/basic", {**BASIC, "email": "other@newcorp.example"}))
    assert "请输入验证码" in changed  # a changed address is proved again


def test_form_errors_redirect_to_the_page_which_shows_them_once(client, arrived):
    page = client.get("/bind/billing")
    answer = client.post("/bind/billing", data={"csrf_token": csrf_token(page.data), "username": "", "code": "1"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/bind/billing"
    shown = text_of(client.get("/bind/billing"))
    assert "请输入用户名" in shown
    assert "请输入用户名" not in text_of(client.get("/bind/billing"))  # a refresh starts afresh


def test_the_language_switch_keeps_what_was_typed(client, arrived):
    page = text_of(client.get("/register/basic"))
    assert 'form="page-form"' in page and 'formaction="/language?next=/register/basic"' in page
    typed = {"csrf_token": csrf_token(page), "username": "typed_name", "email": "typed@example.com",
             "password": "Secret-Typed-Password-1", "lang": "en"}  # fmt: skip
    client.post("/language?next=/register/basic", data=typed)
    english = text_of(client.get("/register/basic"))
    assert 'lang="en"' in english and 'value="typed_name"' in english and 'value="typed@example.com"' in english
    assert "Secret-Typed-Password-1" not in english


def test_every_wizard_page_links_back_to_the_marketplace_and_to_help(client, app, arrived):
    for path in ("/activate/", "/register/basic", "/bind/billing"):
        page = text_of(client.get(path))
        assert f'href="{app.config["MARKETPLACE_CONSOLE_URL"]}">返回云市场' in page, path
        assert ">帮助" in page, path
    submit(client, "/bind/billing", {"next": "/bind/billing"}, action="/bind/guide")
    assert "如何快速绑定阿里云账号结算" not in text_of(client.get("/bind/billing"))
    assert 'href="/bind/billing?guide=1"' in text_of(client.get("/bind/billing"))
    assert "如何快速绑定阿里云账号结算" in text_of(client.get("/bind/billing?guide=1"))
