"""B2a-B2c: create a workspace with an existing Guance account, or register one at the same time."""

import pytest
from sqlalchemy import func, select

from devtools.customer import Browser
from devtools.factories import GuanceAccountFactory
from wizard.models import GuanceAccount, MarketplaceInstance, Workspace, WorkspaceMember

from .activation import ACME, add_billing_account
from .helpers import refuse_once

UID = "1380000000000001"
EXISTING = "/workspace/new?tab=existing"
REGISTER = "/workspace/new?tab=register"


@pytest.fixture
def bound(customer, db, smtp):
    """A customer whose Aliyun account is bound to a billing-center account without workspaces."""
    billing = add_billing_account(workspaces=())
    customer.arrive(UID)
    customer.bind_billing(*ACME)
    smtp.clear()
    return billing, customer.instance_id


@pytest.fixture
def solo(db):
    """A Guance account on 中国区1（杭州） with no workspace yet."""
    return GuanceAccountFactory(username="solo", email="solo@acme.example")


def count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def bound_workspace(db, instance_id):
    db.session.expire_all()
    instance = db.session.scalar(select(MarketplaceInstance).filter_by(instance_id=instance_id))
    return instance.workspace


EXISTING_FORM = {"name": "新空间", "language": "en", "style": "test", "email": "solo@acme.example", "agreement": "y"}
REGISTER_FORM = {
    "name": "新空间",
    "language": "zh",
    "style": "dev",
    "username": "newbie",
    "password": "Blue-Harbor-Lantern-7",
    "confirm": "Blue-Harbor-Lantern-7",
    "email": "newbie@acme.example",
    "phone": "13800138000",
    "agreement": "y",
}


def create(customer, tab: str, form: dict, **changes):
    """B2b or B2c: the code mailed to the form's email, then 创建; the answer, whatever it is."""
    data = {**form, **changes}
    page = customer.on(tab)
    code = customer.send_code(data["email"], data["email"])
    return customer.browser.submit(page, {**data, "code": code})


def create_existing(customer, **changes):
    return create(customer, EXISTING, EXISTING_FORM, **changes)


def create_registering(customer, **changes):
    return create(customer, REGISTER, REGISTER_FORM, **changes)


def test_both_tabs_are_offered(browser, bound):
    page = browser.get("/workspace/new")
    assert page.texts_of("a[href^='/workspace/new?tab=']") == ["有观测云账号", "没有观测云账号"]
    assert page.text_of("[aria-current=page]") == "有观测云账号"
    assert browser.get(REGISTER).form().submit_buttons()[-1]["value"] == "注册并创建工作空间"


def test_existing_account_creates_a_bound_workspace(browser, customer, db, bound, solo):
    billing, instance_id = bound
    assert create_existing(customer).location == "/bind/workspaces"
    workspace = bound_workspace(db, instance_id)
    assert (workspace.name, workspace.language, workspace.style, workspace.site) == ("新空间", "en", "test", "cn1")
    assert workspace.owner_account_id == solo.id and workspace.billing_account_id == billing.id
    assert db.session.scalar(select(WorkspaceMember.account_id).filter_by(workspace_id=workspace.id)) == solo.id
    b3 = browser.get("/bind/workspaces")
    assert ["新空间", "中国区1（杭州）", "已绑定", "—"] in b3.rows() and "已选择" not in b3.text
    assert "已将工作空间「新空间」绑定到商品实例" in b3.flashed("success")


def test_the_b2b_email_names_the_aliyun_account_and_instance_being_bound(customer, smtp, bound, solo):
    _billing, instance_id = bound
    customer.on(EXISTING)
    customer.send_code("solo@acme.example")
    mail = smtp.messages("solo@acme.example")[0]
    assert "正在以您的观测云账号创建工作空间" in mail.text and instance_id in mail.text
    assert "如果这不是您本人的操作" in mail.text and instance_id in mail.html


def test_the_chosen_site_is_where_the_workspace_goes(browser, customer, db, bound):
    browser.submit("/workspace/new", {"site": "cn4", "next": "/workspace/new"}, action="/bind/site")
    create_registering(customer)
    assert bound_workspace(db, bound[1]).site == "cn4"
    assert db.session.scalar(select(GuanceAccount.site).filter_by(username="newbie")) == "cn4"


def test_an_email_without_account_on_the_site_creates_nothing(browser, customer, db, bound, solo):
    browser.submit("/workspace/new", {"site": "cn2", "next": "/workspace/new"}, action="/bind/site")
    page = create_existing(customer)
    assert "当前站点下没有使用该邮箱的观测云账号" in page.error("email")
    assert count(db, Workspace) == 0


def test_registering_creates_account_workspace_and_binding_at_once(customer, db, bound):
    assert create_registering(customer).location == "/bind/workspaces"
    workspace = bound_workspace(db, bound[1])
    account = db.session.scalar(select(GuanceAccount).filter_by(username="newbie"))
    assert workspace.owner_account_id == account.id and account.email == "newbie@acme.example"
    assert workspace.style == "dev" and account.phone == "13800138000"
    assert account.password_hash != "Blue-Harbor-Lantern-7" and account.password_hash.startswith("scrypt:")


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"name": ""}, "name", "请输入工作空间名称"),
        ({"name": "x" * 65}, "name", "工作空间名称不能超过 64 个字符"),
        ({"username": ""}, "username", "请输入用户名"),
        ({"username": "1abc"}, "username", "用户名为 3–32 位，以字母开头"),
        ({"username": "ab"}, "username", "用户名为 3–32 位"),
        ({"password": "short-pass1", "confirm": "short-pass1"}, "password", "密码至少 12 位"),
        ({"password": "password1234", "confirm": "password1234"}, "password", "这是常见或已泄露的密码"),
        ({"password": "newbie@acme.example", "confirm": "newbie@acme.example"}, "password", "用户名或邮箱"),
        ({"confirm": "Passw0rd2"}, "confirm", "两次输入的密码不一致"),
        ({"email": "not-an-email"}, "email", "请输入有效的邮箱地址"),
        ({"phone": "12345"}, "phone", "请输入有效的手机号"),
        ({"phone": ""}, "phone", "请输入手机号"),  # required, as on R1: the same Guance account
        ({"style": "space"}, "style", "不是有效的选择"),
        ({"agreement": ""}, "agreement", "请阅读并同意用户协议和隐私政策"),
        ({"language": "fr"}, "language", "不是有效的选择"),
    ],
)
def test_bad_registration_input_is_explained_and_kept(browser, db, bound, changes, field, message):
    data = {**REGISTER_FORM, **changes, "code": "123456"}
    page = browser.submit(REGISTER, data)
    assert message in page.error(field)
    if field != "username":
        assert page.value("username") == data["username"]
    assert not page.value("password") and not page.value("confirm") and not page.value("code")
    assert count(db, GuanceAccount) == 1 and count(db, Workspace) == 0


@pytest.mark.parametrize("phone", ["13800138000", "+85261234567"])
def test_a_valid_phone_is_kept(customer, db, bound, phone):
    create_registering(customer, phone=phone)
    assert db.session.scalar(select(GuanceAccount.phone).filter_by(username="newbie")) == phone


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"username": "acme_owner"}, "该用户名在此站点已被使用"),
        ({"email": "acme_owner@acme.example"}, "该邮箱在此站点已注册"),
    ],
)
def test_a_username_or_email_taken_on_the_site_creates_nothing(customer, db, bound, changes, message):
    page = create_registering(customer, **changes)
    assert message in page.error(next(iter(changes)))
    assert count(db, GuanceAccount) == 1 and count(db, Workspace) == 0
    assert bound_workspace(db, bound[1]) is None


def test_a_wrong_code_creates_nothing(browser, customer, db, bound):
    customer.on(REGISTER)
    right = customer.send_code(REGISTER_FORM["email"], REGISTER_FORM["email"])
    page = browser.submit(REGISTER, {**REGISTER_FORM, "code": f"{(int(right) + 1) % 10**6:06d}"})
    assert "验证码" in page.error("code") and count(db, Workspace) == 0 and count(db, GuanceAccount) == 1


def test_a_failure_while_binding_rolls_back_the_new_account(customer, db, bound, monkeypatch):
    from wizard.services import workspaces

    def refuse(instance, workspace):
        raise workspaces.Refused(workspaces.NOT_BINDABLE)

    monkeypatch.setattr(workspaces, "bind_instance", refuse)
    page = create_registering(customer)
    assert "已通过其他阿里云商品实例结算" in page.text
    assert count(db, GuanceAccount) == 1 and count(db, Workspace) == 0 and count(db, WorkspaceMember) == 0


def test_a_second_submit_after_success_creates_nothing_more(browser, customer, db, bound, solo):
    second_tab = browser.get(EXISTING)  # the same form, open in a second tab
    create_existing(customer)
    again = browser.submit(second_tab, {**EXISTING_FORM, "code": "000000"})
    assert again.location == "/activate/success"
    assert count(db, Workspace) == 1


# ---- A refused submission leaves the code valid (one rule for every form that takes a code) ----


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"username": "acme_owner"}, "username", "该用户名在此站点已被使用"),
        ({"name": "   "}, "name", "请输入工作空间名称"),
    ],
)
def test_b2c_refused_for_another_field_keeps_the_code(client, db, smtp, bound, changes, field, message):
    Browser.of(client).submit(REGISTER, {"email": REGISTER_FORM["email"], "send_code": "1"})
    code = smtp.last_code(REGISTER_FORM["email"])
    page = Browser.of(client).submit(REGISTER, {**REGISTER_FORM, **changes, "code": code}).text
    assert message in page and "验证码无效" not in page
    assert count(db, GuanceAccount) == 1 and count(db, Workspace) == 0
    response = Browser.of(client).submit(REGISTER, {**REGISTER_FORM, "code": code})
    assert response.location == "/bind/workspaces"
    assert bound_workspace(db, bound[1]).name == "新空间"


def test_b2b_refused_while_binding_keeps_the_code(client, db, smtp, bound, solo, monkeypatch):
    from wizard.services import workspaces

    refuse_once(monkeypatch, workspaces, "bind_instance", workspaces.Refused(workspaces.NOT_BINDABLE))
    Browser.of(client).submit(EXISTING, {"email": EXISTING_FORM["email"], "send_code": "1"})
    code = smtp.last_code(EXISTING_FORM["email"])
    page = Browser.of(client).submit(EXISTING, {**EXISTING_FORM, "code": code}).text
    assert "已通过其他阿里云商品实例结算" in page and count(db, Workspace) == 0
    response = Browser.of(client).submit(EXISTING, {**EXISTING_FORM, "code": code})
    assert response.location == "/bind/workspaces" and count(db, Workspace) == 1
