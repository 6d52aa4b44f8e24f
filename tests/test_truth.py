"""What a newcomer reads is true (issue 21): error pages say what happened and what to do before their code,
the agreements are pages of the product, pay-as-you-go has no expiry, B2's site is fixed once a workspace is
chosen, B2c asks what R1 asks, the B0 guide and the step indicator agree, and a new workspace speaks the
interface's language. (The console's frozen and locked workspaces: tests/test_lifecycle.py; the phone
layout: e2e/test_phone.py; the English glossary: tests/test_i18n.py.)"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from wizard.models import MarketplaceInstance
from wizard.pages import BIND_STEPS

from .activation import add_billing_account, bind_billing, bind_workspace, workspace_id
from .helpers import submit, text_of
from .marketplace import enter_login_free
from .test_simulator import buy, sign_in

UID = "1380000000000001"


@pytest.fixture
def bound(client, app, db, smtp):
    """A customer whose Aliyun account is bound to a billing-center account without workspaces (B2)."""
    add_billing_account(workspaces=())
    enter_login_free(client, app, UID)
    bind_billing(client, smtp)


# ---- Error pages ----


@pytest.mark.parametrize("side", ["guance", "market"])
def test_an_error_page_leads_with_what_happened_and_what_to_do(client, market_client, side):
    response = (client if side == "guance" else market_client).get("/no-such-page")
    page = text_of(response)
    assert response.status_code == 404
    said, to_do, code = (page.index(text) for text in ("页面不存在", "请检查链接是否正确", "错误代码 404"))
    assert said < to_do < code  # the status code comes last
    assert re.search(r'<p class="error-code">错误代码 404</p>\s*</section>', page)


# ---- Agreements ----


def test_the_agreements_are_pages_of_the_product(client, market_client):
    for url, title in (("/agreements/user", "观测云用户协议"), ("/agreements/privacy", "隐私政策")):
        page = text_of(client.get(url))
        assert f'<h1 id="agreement-title">{title}</h1>' in page and "不是观测云的正式协议" in page, url
    market = text_of(market_client.get("/agreements/marketplace"))
    assert '<h1 id="agreement-title">云市场平台服务协议</h1>' in market and "不是阿里云的正式协议" in market


def test_the_forms_agreements_link_to_those_pages(client, market_client, bound):
    sign_in(market_client)
    dialog = text_of(market_client.get("/activate"))
    assert 'href="/agreements/marketplace" target="_blank"' in dialog
    assert 'href="http://localhost/agreements/user" target="_blank"' in dialog
    form = text_of(client.get("/workspace/new?tab=register"))
    assert 'href="/agreements/user" target="_blank"' in form and 'href="/agreements/privacy" target="_blank"' in form


def test_the_error_summary_names_an_unticked_agreement_by_its_error_alone(client, bound):
    page = text_of(submit(client, "/workspace/new?tab=existing", {"name": "x", "email": "solo@acme.example"}))
    summary = page.split('class="error-summary"')[1].split("</div>")[0]
    assert ">请阅读并同意用户协议和隐私政策<" in summary and "我已阅读并同意" not in summary


# ---- Pay-as-you-go has no expiry ----


def test_a_pay_as_you_go_instance_shows_no_expiry_and_the_isv_is_told_none(market_client, db):
    sign_in(market_client)
    buy(market_client)
    page = text_of(market_client.get("/instances"))
    assert "按量付费，无到期时间" in page and "<time" not in page.split('data-order="')[1].split("</tr>")[0]
    db.session.expire_all()
    assert db.session.scalar(select(MarketplaceInstance.expires_at)) is None


# ---- B2's site, once a workspace is chosen ----


def test_the_site_is_fixed_once_the_instance_holds_a_workspace(client, app, db, smtp):
    add_billing_account(workspaces=("生产环境",))
    enter_login_free(client, app, UID)
    assert 'action="/bind/site"' in text_of(client.get("/bind/billing"))  # a choice before binding
    bind_billing(client, smtp)
    bind_workspace(client, workspace_id("生产环境"))
    page = text_of(client.get("/bind/workspaces"))
    assert 'action="/bind/site"' not in page and 'class="site-switch site-fixed" data-site="cn1"' in page
    refused = submit(client, "/bind/workspaces", {"site": "cn2", "next": "/bind/workspaces"}, action="/bind/site")
    assert "已选择工作空间，站点不能再更改" in text_of(client.get(refused.headers["Location"]))
    assert 'data-site="cn1"' in text_of(client.get("/bind/workspaces"))


# ---- B2c asks what R1 asks ----

R1_HINTS = ("3–32 位，以字母开头，可包含字母、数字、_ . -", "12–128 位，任意字符均可", "请输入手机号")


def test_b2c_has_r1s_fields_and_hints_and_the_workspace_style(client, app, db, bound):
    b2c = text_of(client.get("/workspace/new?tab=register"))
    for hint in R1_HINTS:
        assert hint in b2c, hint
    assert 'id="style"' in b2c and "选填" not in b2c
    assert re.search(r'<label class="field-label required" for="phone">', b2c)  # 手机号 required, as on R1


# ---- The B0 guide and the step indicator ----


def test_the_first_visit_guide_lists_the_step_indicators_steps(client, app, db):
    add_billing_account()
    enter_login_free(client, app, UID)
    page = text_of(client.get("/bind/billing"))
    guide = page.split('id="guide-title"')[1].split("</ol>")[0]
    indicator = page.split('class="steps"')[1].split("</ol>")[0]
    listed = re.findall(r"<li><strong>(.*?)</strong>", guide)
    assert listed == [str(label) for label in BIND_STEPS.labels]
    assert all(label in indicator for label in listed)


# ---- Workspace language: the interface's ----


@pytest.mark.parametrize(("language", "checked"), [("zh", "zh"), ("en", "en")])
def test_a_new_workspace_speaks_the_interface_language_by_default(client, bound, language, checked):
    client.set_cookie("lang", language)
    page = text_of(client.get("/workspace/new?tab=existing"))
    assert re.search(rf'<input checked id="language-\d" name="language" [^>]*value="{checked}">', page)
