"""The bind path: B0/B1 bind a billing-center account, B2/B3 bind a workspace, S1 success."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, insert, select

from devtools.customer import Browser
from devtools.factories import CloudAccountBindingFactory, GuanceAccountFactory
from wizard.models import CloudAccountBinding, MarketplaceInstance, Workspace, WorkspaceMember

from .activation import ACME, PASSWORD, add_billing_account, workspace_id
from .conftest import BOTH_DATABASES, customer_of
from .helpers import refuse_once
from .marketplace import call_spi

UID = "1380000000000001"


@pytest.fixture
def billing(db):
    return add_billing_account()


@pytest.fixture
def arrived(customer, billing):
    """A customer arrived through 免登 (G1); returns the instance ID."""
    customer.arrive(UID)
    return customer.instance_id


def bound_billing_account(db, ali_uid=UID):
    db.session.expire_all()
    return db.session.scalar(select(CloudAccountBinding.billing_account_id).filter_by(ali_uid=ali_uid))


def instance_workspace(db, instance_id):
    db.session.expire_all()
    return db.session.scalar(select(MarketplaceInstance.workspace_id).filter_by(instance_id=instance_id))


def bind(browser, workspace: int):
    """B2: 绑定 on `workspace`'s row; the answer, whatever it is."""
    return browser.submit("/bind/workspaces", action=f"/bind/workspaces/{workspace}")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# ---- B0 / B1 ----


def test_the_chooser_leads_to_the_bind_page(browser, customer, arrived):
    customer.choose("bind")
    page = browser.get("/bind/billing")
    assert page.title == "绑定观测云工作空间" and "绑定费用中心账号" in page.headings
    assert page.links("a[href='/register/basic']") and page.text_of("a[href='/register/basic']") == "注册"


def test_the_first_visit_guide_is_dismissed_with_got_it(browser, arrived):
    assert "如何快速绑定阿里云账号结算" in browser.get("/bind/billing").headings
    browser.submit("/bind/billing", {"next": "/bind/billing"}, action="/bind/guide")
    assert "如何快速绑定阿里云账号结算" not in browser.get("/bind/billing").text


def test_binding_by_username_and_emailed_code(customer, db, smtp, arrived, billing):
    assert customer.bind_billing(*ACME).url == "/bind/workspaces"
    assert bound_billing_account(db) == billing.id
    assert smtp.messages()[0].to == "billing@acme.example"


def test_the_b1_email_names_the_aliyun_account_and_instance_being_bound(customer, smtp, arrived):
    customer.on("/bind/billing")
    customer.send_code("acme_billing", javascript=False)
    mail = smtp.messages("billing@acme.example")[0]
    for text in (mail.text, mail.html):
        assert f"阿里云账号 {UID} 正在申请绑定此费用中心账号（商品实例 ID：{arrived}）" in text
        assert "如果这不是您本人的操作" in text


def test_a_wrong_code_binds_nothing_and_keeps_the_username(browser, customer, db, arrived):
    customer.on("/bind/billing")
    code = customer.send_code(*ACME, javascript=False)
    page = browser.submit("/bind/billing", {"username": "acme_billing", "code": wrong(code)})
    assert "验证码" in page.error("code") and page.value("username") == "acme_billing"
    assert bound_billing_account(db) is None


def test_an_unknown_username_gets_the_same_answer_and_no_mail(app, customer, smtp, arrived):
    customer.on("/bind/billing")
    customer.send_code("acme_billing", javascript=False)
    other = customer_of(app, smtp)
    other.arrive("1380000000000002")
    other.on("/bind/billing")
    other.send_code("nobody_here", javascript=False)
    assert customer.page.code_status == other.page.code_status
    assert other.page.code_status.text == "若该账号存在，验证码已发送至其绑定邮箱，请查收"
    assert len(smtp.messages()) == 1  # only acme_billing's address got a mail
    assert [m.to for m in smtp.messages()] == ["billing@acme.example"]


@pytest.mark.parametrize("username, message", [("", "请输入用户名"), ("x" * 65, "用户名不能超过 64 个字符")])
def test_bad_usernames_are_explained_next_to_the_field(browser, arrived, username, message):
    page = browser.submit("/bind/billing", {"username": username, "code": "123456"})
    assert message in page.error("username")


def test_bound_to_another_billing_account_gets_a_message_and_nothing_changes(
    browser, customer, db, arrived, monkeypatch
):
    from wizard.services import codes as codes_service

    other = add_billing_account("other_billing", "other@acme.example", workspaces=())
    original = codes_service.check_code

    def second_tab_binds_first(*args):
        """Another tab binds the Aliyun account to another billing-center account (its own transaction,
        committed) just as this one's code is checked."""
        with db.engine.begin() as connection:
            connection.execute(insert(CloudAccountBinding).values(ali_uid=UID, billing_account_id=other.id))
        return original(*args)

    monkeypatch.setattr(codes_service, "check_code", second_tab_binds_first)
    customer.on("/bind/billing")
    code = customer.send_code(*ACME)
    page = browser.submit("/bind/billing", {"username": "acme_billing", "code": code}, follow=True)
    assert "该阿里云账号已绑定费用中心账号「other_billing」，此页面的提交未执行。" in page.flashed("warning")
    assert bound_billing_account(db) == other.id


def test_binding_again_to_the_same_account_is_harmless(db, billing, app):
    from wizard.services.billing import bind_cloud_account

    with app.test_request_context():
        bind_cloud_account(UID, billing.id)
        bind_cloud_account(UID, billing.id)
    assert db.session.scalar(select(func.count()).select_from(CloudAccountBinding)) == 1


def test_binding_to_a_second_account_is_refused_by_the_service(db, billing, app):
    from wizard.services.billing import bind_cloud_account
    from wizard.services.refusals import Refused

    other = add_billing_account("other_billing", "other@acme.example", workspaces=())
    with app.test_request_context():
        bind_cloud_account(UID, billing.id)
        with pytest.raises(Refused):
            bind_cloud_account(UID, other.id)
    assert bound_billing_account(db) == billing.id


# ---- B2 / B3 ----


def workspace_rows(page) -> dict[str, str]:
    """B2's workspaces: name -> its state (可绑定, 不可绑定 and why, 已绑定 ...)."""
    return {name: state for name, _site, state, _action in page.rows("table.workspace-table")}


def test_b2_lists_the_workspaces_as_bindable(customer, arrived):
    b2 = customer.bind_billing(*ACME)
    assert workspace_rows(b2) == {"生产环境": "可绑定", "测试环境": "可绑定"}


def test_bind_in_one_step_then_b3_says_so_and_leads_to_success(browser, customer, db, arrived):
    b2 = customer.bind_billing(*ACME)
    target = workspace_id("生产环境")
    assert b2.find(f"form[action='/bind/workspaces/{target}']") is not None  # 绑定 is the row's own form
    b3 = customer.bind_workspace(target)
    assert instance_workspace(db, arrived) == target
    assert f"已将工作空间「生产环境」绑定到商品实例 {arrived}" in b3.flashed("success")
    assert workspace_rows(b3)["生产环境"] == "已绑定" and "已选择" not in b3.text
    assert "点击确定查看开通结果" in b3.text and b3.links("a[href='/activate/success']")
    s1 = browser.get("/activate/success")
    for text in ("开通成功", "生产环境", "acme_billing", UID, arrived):
        assert text in s1.text_of(".success-card"), text
    assert s1.links("a[href^='/login/pwd']") == ["/login/pwd?site=cn1&username=acme_owner"]


def test_a_workspace_bound_to_another_live_instance_is_not_bindable(browser, customer, db, arrived):
    customer.bind_billing(*ACME)
    customer.bind_workspace(workspace_id("生产环境"))
    # The same customer buys a second instance: 生产环境 settles through the first one.
    customer.arrive(UID, lands="/bind/workspaces")
    page = browser.get("/bind/workspaces")
    assert workspace_rows(page)["生产环境"] == f"不可绑定 已通过阿里云账号 {UID} 的实例 {arrived} 结算"
    bind(browser, workspace_id("生产环境"))
    assert instance_workspace(db, customer.instance_id) is None
    assert "已通过其他阿里云商品实例结算" in browser.get("/bind/workspaces").flashed("error")


def test_a_released_instance_frees_its_workspace(app, browser, customer, db, arrived):
    customer.bind_billing(*ACME)
    customer.bind_workspace(workspace_id("生产环境"))
    call_spi(browser.client, app, action="releaseInstance", instanceId=arrived, isRefund="false")
    customer.arrive(UID, lands="/bind/workspaces")
    customer.bind_workspace(workspace_id("生产环境"))
    assert instance_workspace(db, customer.instance_id) == workspace_id("生产环境")


def test_a_workspace_of_someone_elses_billing_account_cannot_be_bound(browser, customer, db, arrived):
    add_billing_account("stranger", "stranger@acme.example", workspaces=("别人的空间",), owner_username="stranger")
    customer.bind_billing(*ACME)
    bind(browser, workspace_id("别人的空间"))
    assert instance_workspace(db, arrived) is None


def test_nothing_bindable_offers_to_create_a_workspace(browser, customer, db):
    add_billing_account(workspaces=())
    customer.arrive(UID)
    b2 = customer.bind_billing(*ACME)
    assert "立即创建工作空间" in b2.texts_of("a[href='/workspace/new']")


def test_the_site_selector_is_kept(browser, arrived):
    browser.submit("/bind/billing", {"site": "cn4", "next": "/bind/billing"}, action="/bind/site")
    assert browser.get("/bind/billing").form("form.site-switch").values["site"] == "cn4"


# ---- Guards, double submits, second tabs ----


@pytest.mark.parametrize("path", ["/bind/workspaces", "/workspace/new", "/activate/success"])
def test_later_steps_redirect_to_where_the_customer_really_is(browser, arrived, path):
    assert browser.get(path).location == "/activate/"


def test_once_bound_the_earlier_steps_redirect_forward(browser, customer, arrived):
    customer.bind_billing(*ACME)
    assert browser.get("/activate/").location == "/bind/workspaces"
    assert browser.get("/bind/billing").location == "/bind/workspaces"


def test_a_double_submit_binds_once_and_lands_on_success(browser, customer, db, arrived):
    customer.bind_billing(*ACME)
    workspace = workspace_id("生产环境")
    b2 = browser.get("/bind/workspaces")
    first = browser.submit(b2, action=f"/bind/workspaces/{workspace}")
    second = browser.submit(b2, action=f"/bind/workspaces/{workspace}")
    assert first.location == "/bind/workspaces"
    assert second.location == "/activate/success"
    assert instance_workspace(db, arrived) == workspace


def test_login_free_again_after_activation_opens_the_login_with_the_owner_filled_in(browser, customer, arrived):
    customer.bind_billing(*ACME)
    customer.bind_workspace(workspace_id("生产环境"))
    login = customer.login_free(lands="/login/pwd?site=cn1&username=acme_owner")
    assert login.value("username") == "acme_owner" and "已填入可登录该工作空间的观测云账号" in login.text
    assert browser.get("/bind/workspaces").links("a[href='/activate/success']")  # S1 stays reachable from B3


def test_login_free_for_a_signed_in_member_lands_in_the_console(browser, customer, arrived):
    customer.bind_billing(*ACME)
    customer.bind_workspace(workspace_id("生产环境"))
    customer.log_in("acme_owner", PASSWORD)
    assert customer.login_free(lands="/console/").url == "/console/"
    assert "生产环境" in browser.get("/console/").text  # still signed in: 免登 did not end the session


def test_login_free_for_another_signed_in_account_asks_for_the_members_login(browser, customer, arrived):
    add_billing_account("other_billing", "other@acme.example", workspaces=("别处",), owner_username="stranger")
    customer.bind_billing(*ACME)
    customer.bind_workspace(workspace_id("生产环境"))
    customer.log_in("stranger", PASSWORD)
    customer.login_free(lands="/login/pwd?site=cn1&username=acme_owner")
    assert browser.get("/console/").status == 302  # the stranger's session ended with the new 免登


def test_success_names_the_accounts_that_can_log_in(browser, customer, db, arrived):
    customer.bind_billing(*ACME)
    customer.bind_workspace(workspace_id("生产环境"))
    colleague = GuanceAccountFactory(username="colleague", email="colleague@acme.example")
    db.session.add(WorkspaceMember(workspace_id=workspace_id("生产环境"), account=colleague, role="member"))
    db.session.commit()
    s1 = browser.get("/activate/success")
    assert "可登录的观测云账号" in s1.text
    names = s1.text_of(".success-card")
    assert names.index("acme_owner") < names.index("（所有者）") < names.index("colleague")


@BOTH_DATABASES
def test_two_aliyun_accounts_racing_for_one_workspace_one_wins(app, db, smtp):
    """Two customers of one billing-center account bind the same workspace at the same moment."""
    billing = add_billing_account(workspaces=("共享空间",))
    target = workspace_id("共享空间")
    customers = []
    for uid in ("1380000000000001", "1380000000000002"):
        customer = customer_of(app, smtp)
        customer.arrive(uid)
        CloudAccountBindingFactory(ali_uid=uid, billing_account=billing)
        customers.append(customer)
    dialogs = [customer.browser.get("/bind/workspaces") for customer in customers]

    def press(pair):
        customer, dialog = pair
        customer.browser.submit(dialog, action=f"/bind/workspaces/{target}")
        return customer.browser.get("/bind/workspaces")

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(press, zip(customers, dialogs, strict=True)))
    db.session.expire_all()
    bound = db.session.scalars(select(MarketplaceInstance).where(MarketplaceInstance.workspace_id == target)).all()
    assert len(bound) == 1
    assert sum("已通过其他阿里云商品实例结算" in page.flashed("error") for page in outcomes) == 1
    assert db.session.scalar(select(func.count()).select_from(Workspace)) == 1


def test_a_refused_binding_keeps_the_code(client, db, smtp, arrived, billing, monkeypatch):
    """A submission refused after the code was found right leaves the code valid for the next one."""
    from wizard.services import billing as billing_service

    refused = billing_service.Refused(billing_service.BOUND_ELSEWHERE)
    refuse_once(monkeypatch, billing_service, "bind_cloud_account", refused)
    Browser.of(client).submit("/bind/billing", {"username": "acme_billing", "send_code": "1"})
    code = smtp.last_code("billing@acme.example")
    page = Browser.of(client).submit("/bind/billing", {"username": "acme_billing", "code": code}).text
    assert "该阿里云账号已绑定其他费用中心账号" in page and bound_billing_account(db) is None
    response = Browser.of(client).submit("/bind/billing", {"username": "acme_billing", "code": code})
    assert response.location == "/bind/workspaces" and bound_billing_account(db) == billing.id
