"""What a newcomer reads is true (issue 21): error pages say what happened and what to do before their code,
the agreements are pages of the product, pay-as-you-go has no expiry, B2's site is fixed once a workspace is
chosen, B2c asks what R1 asks, the B0 guide and the step indicator agree, and a new workspace speaks the
interface's language. (The console's frozen and locked workspaces: tests/test_lifecycle.py; the phone
layout: e2e/test_phone.py; the English glossary: tests/test_i18n.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from devtools.customer import Browser, Customer
from devtools.pages import Page
from wizard.models import MarketplaceInstance
from wizard.pages import BIND_STEPS

from .activation import ACME, add_billing_account, workspace_id
from .marketplace import enter_login_free
from .test_simulator import buy, sign_in


def opened(client, url: str, **options) -> Page:
    return Page.of(client.get(url, **options), url)


UID = "1380000000000001"


@pytest.fixture
def bound(client, app, db, smtp):
    """A customer whose Aliyun account is bound to a billing-center account without workspaces (B2)."""
    add_billing_account(workspaces=())
    enter_login_free(client, app, UID)
    Customer(Browser.of(client), smtp).bind_billing(*ACME)


# ---- Error pages ----


@pytest.mark.parametrize("side", ["guance", "market"])
def test_an_error_page_leads_with_what_happened_and_what_to_do(client, market_client, side):
    page = opened(client if side == "guance" else market_client, "/no-such-page")
    assert page.status == 404
    said, to_do, code = (page.text.index(text) for text in ("页面不存在", "请检查链接是否正确", "错误代码 404"))
    assert said < to_do < code  # the status code comes last
    last = page.find("main section").find_all(True, recursive=False)[-1]
    assert last.name == "p" and last.get("class") == ["error-code"] and last.get_text() == "错误代码 404"


# ---- Agreements ----


def test_the_agreements_are_pages_of_the_product(client, market_client):
    for url, title in (("/agreements/user", "观测云用户协议"), ("/agreements/privacy", "隐私政策")):
        page = opened(client, url)
        assert page.text_of("h1#agreement-title") == title and "不是观测云的正式协议" in page.text, url
    market = opened(market_client, "/agreements/marketplace")
    assert market.text_of("h1#agreement-title") == "云市场平台服务协议" and "不是阿里云的正式协议" in market.text


def test_the_forms_agreements_link_to_those_pages(client, market_client, bound):
    sign_in(market_client)
    dialog = opened(market_client, "/activate")
    assert {"/agreements/marketplace", "http://localhost/agreements/user"} <= set(dialog.links("a[target=_blank]"))
    form = opened(client, "/workspace/new?tab=register")
    assert {"/agreements/user", "/agreements/privacy"} <= set(form.links("a[target=_blank]"))


def test_the_error_summary_names_an_unticked_agreement_by_its_error_alone(client, bound):
    page = Browser.of(client).submit("/workspace/new?tab=existing", {"name": "x", "email": "solo@acme.example"})
    summary = page.texts_of(".error-summary li")
    assert "请阅读并同意用户协议和隐私政策" in summary and not any("我已阅读并同意" in said for said in summary)


# ---- Pay-as-you-go has no expiry ----


def test_a_pay_as_you_go_instance_shows_no_expiry_and_the_isv_is_told_none(market_client, db):
    sign_in(market_client)
    buy(market_client)
    row = opened(market_client, "/instances").find("tr[data-order]")
    assert "按量付费，无到期时间" in row.get_text() and row.find("time") is None
    db.session.expire_all()
    assert db.session.scalar(select(MarketplaceInstance.expires_at)) is None


# ---- B2's site, once a workspace is chosen ----


def test_the_site_is_fixed_once_the_instance_holds_a_workspace(client, app, db, smtp):
    add_billing_account(workspaces=("生产环境",))
    enter_login_free(client, app, UID)
    assert opened(client, "/bind/billing").find("form[action='/bind/site']")  # a choice before binding
    customer = Customer(Browser.of(client), smtp)
    customer.bind_billing(*ACME)
    customer.bind_workspace(workspace_id("生产环境"))
    page = opened(client, "/bind/workspaces")
    assert page.find("form[action='/bind/site']") is None and page.find(".site-switch.site-fixed[data-site=cn1]")
    browser = Browser.of(client)
    refused = browser.submit("/bind/workspaces", {"site": "cn2", "next": "/bind/workspaces"}, action="/bind/site")
    assert "已选择工作空间，站点不能再更改" in opened(client, refused.location).text
    assert opened(client, "/bind/workspaces").find(".site-switch[data-site=cn1]")


# ---- B2c asks what R1 asks ----

R1_HINTS = ("3–32 位，以字母开头，可包含字母、数字、_ . -", "12–128 位，任意字符均可", "请输入手机号")


def test_b2c_has_r1s_fields_and_hints_and_the_workspace_style(client, app, db, bound):
    b2c = opened(client, "/workspace/new?tab=register")
    for hint in R1_HINTS:
        assert hint in b2c.text, hint
    assert b2c.find("#style") and "选填" not in b2c.text
    assert "required" in b2c.find("label[for=phone]")["class"]  # 手机号 required, as on R1


# ---- The B0 guide and the step indicator ----


def test_the_first_visit_guide_lists_the_step_indicators_steps(client, app, db):
    add_billing_account()
    enter_login_free(client, app, UID)
    page = opened(client, "/bind/billing")
    guide = page.find("[aria-labelledby=guide-title]") or page.find("#guide-title").find_parent("dialog")
    listed = [strong.get_text() for strong in guide.select("ol li > strong")]
    assert listed == [str(label) for label in BIND_STEPS.labels]
    indicator = page.text_of(".steps")
    assert all(label in indicator for label in listed)


# ---- Workspace language: the interface's ----


@pytest.mark.parametrize(("language", "checked"), [("zh", "zh"), ("en", "en")])
def test_a_new_workspace_speaks_the_interface_language_by_default(client, bound, language, checked):
    client.set_cookie("lang", language)
    page = opened(client, "/workspace/new?tab=existing")
    assert page.find("input[name=language][checked]")["value"] == checked
