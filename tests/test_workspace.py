"""B2a-B2c: create a workspace with an existing Guance account, or register one at the same time."""

import pytest
from sqlalchemy import func, select

from wizard.models import GuanceAccount, MarketplaceInstance, Workspace, WorkspaceMember

from .activation import PASSWORD, add_billing_account, bind_billing, send_code
from .helpers import csrf_token, submit, text_of
from .marketplace import enter_login_free

UID = "1380000000000001"
EXISTING = "/workspace/new?tab=existing"
REGISTER = "/workspace/new?tab=register"


@pytest.fixture
def bound(client, app, db, smtp):
    """A customer whose Aliyun account is bound to a billing-center account without workspaces."""
    billing = add_billing_account(workspaces=())
    instance_id = enter_login_free(client, app, UID)
    bind_billing(client, smtp)
    smtp.clear()
    return billing, instance_id


@pytest.fixture
def solo(db):
    """A Guance account on 中国区1（杭州） with no workspace yet."""
    from werkzeug.security import generate_password_hash

    account = GuanceAccount(
        site="cn1", username="solo", email="solo@acme.example", password_hash=generate_password_hash(PASSWORD)
    )
    db.session.add(account)
    db.session.commit()
    return account


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
    "username": "newbie",
    "password": "Blue-Harbor-Lantern-7",
    "confirm": "Blue-Harbor-Lantern-7",
    "email": "newbie@acme.example",
    "phone": "",
    "agreement": "y",
}


def create_existing(client, smtp, **changes):
    data = {**EXISTING_FORM, **changes}
    send_code(client, EXISTING, {"email": data["email"]})
    return submit(client, EXISTING, {**data, "code": smtp.last_code(data["email"])})


def create_registering(client, smtp, **changes):
    data = {**REGISTER_FORM, **changes}
    send_code(client, REGISTER, {"email": data["email"]})
    return submit(client, REGISTER, {**data, "code": smtp.last_code(data["email"])})


def test_both_tabs_are_offered(client, bound):
    page = text_of(client.get("/workspace/new"))
    assert "有观测云账号" in page and "没有观测云账号" in page and 'aria-current="page">有观测云账号' in page
    assert "注册并创建工作空间" in text_of(client.get(REGISTER))


def test_existing_account_creates_a_bound_workspace(client, db, smtp, bound, solo):
    billing, instance_id = bound
    response = create_existing(client, smtp)
    assert response.headers["Location"] == "/bind/workspaces"
    workspace = bound_workspace(db, instance_id)
    assert (workspace.name, workspace.language, workspace.style, workspace.site) == ("新空间", "en", "test", "cn1")
    assert workspace.owner_account_id == solo.id and workspace.billing_account_id == billing.id
    assert db.session.scalar(select(WorkspaceMember.account_id).filter_by(workspace_id=workspace.id)) == solo.id
    b3 = text_of(client.get("/bind/workspaces"))
    assert "已绑定" in b3 and "已选择" not in b3 and "新空间" in b3 and "已将工作空间「新空间」绑定到商品实例" in b3


def test_the_b2b_email_names_the_aliyun_account_and_instance_being_bound(client, smtp, bound, solo):
    _billing, instance_id = bound
    send_code(client, EXISTING, {"email": "solo@acme.example"})
    mail = smtp.messages("solo@acme.example")[0]
    assert "正在以您的观测云账号创建工作空间" in mail.text and instance_id in mail.text
    assert "如果这不是您本人的操作" in mail.text and instance_id in mail.html


def test_the_chosen_site_is_where_the_workspace_goes(client, db, smtp, bound):
    submit(client, "/workspace/new", {"site": "cn4", "next": "/workspace/new"}, action="/bind/site")
    create_registering(client, smtp)
    assert bound_workspace(db, bound[1]).site == "cn4"
    assert db.session.scalar(select(GuanceAccount.site).filter_by(username="newbie")) == "cn4"


def test_an_email_without_account_on_the_site_creates_nothing(client, db, smtp, bound, solo):
    submit(client, "/workspace/new", {"site": "cn2", "next": "/workspace/new"}, action="/bind/site")
    page = text_of(create_existing(client, smtp))
    assert "当前站点下没有使用该邮箱的观测云账号" in page
    assert count(db, Workspace) == 0


def test_registering_creates_account_workspace_and_binding_at_once(client, db, smtp, bound):
    response = create_registering(client, smtp)
    assert response.headers["Location"] == "/bind/workspaces"
    workspace = bound_workspace(db, bound[1])
    account = db.session.scalar(select(GuanceAccount).filter_by(username="newbie"))
    assert workspace.owner_account_id == account.id and account.email == "newbie@acme.example"
    assert workspace.style == "default" and account.phone is None
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
        ({"agreement": ""}, "agreement", "请阅读并同意用户协议和隐私政策"),
        ({"language": "fr"}, "language", "不是有效的选择"),
    ],
)
def test_bad_registration_input_is_explained_and_kept(client, db, smtp, bound, changes, field, message):
    data = {**REGISTER_FORM, **changes, "code": "123456"}
    page = text_of(submit(client, REGISTER, data))
    assert message in page.split(f'id="{field}-error"')[1][:300]
    if field != "username":
        assert f'value="{data["username"]}"' in page
    assert 'value="Blue-Harbor-Lantern-7"' not in page and 'value="123456"' not in page
    assert count(db, GuanceAccount) == 1 and count(db, Workspace) == 0


@pytest.mark.parametrize("phone", ["13800138000", "+85261234567"])
def test_a_valid_phone_is_kept(client, db, smtp, bound, phone):
    create_registering(client, smtp, phone=phone)
    assert db.session.scalar(select(GuanceAccount.phone).filter_by(username="newbie")) == phone


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"username": "acme_owner"}, "该用户名在此站点已被使用"),
        ({"email": "acme_owner@acme.example"}, "该邮箱在此站点已注册"),
    ],
)
def test_a_username_or_email_taken_on_the_site_creates_nothing(client, db, smtp, bound, changes, message):
    page = text_of(create_registering(client, smtp, **changes))
    assert message in page
    assert count(db, GuanceAccount) == 1 and count(db, Workspace) == 0
    assert bound_workspace(db, bound[1]) is None


def test_a_wrong_code_creates_nothing(client, db, smtp, bound):
    send_code(client, REGISTER, {"email": REGISTER_FORM["email"]})
    right = smtp.last_code(REGISTER_FORM["email"])
    page = text_of(submit(client, REGISTER, {**REGISTER_FORM, "code": f"{(int(right) + 1) % 10**6:06d}"}))
    assert "验证码" in page and count(db, Workspace) == 0 and count(db, GuanceAccount) == 1


def test_a_failure_while_binding_rolls_back_the_new_account(client, db, smtp, bound, monkeypatch):
    from wizard.services import workspaces

    def refuse(instance, workspace):
        raise workspaces.BindingRefused(workspaces.NOT_BINDABLE)

    monkeypatch.setattr(workspaces, "bind_instance", refuse)
    page = text_of(create_registering(client, smtp))
    assert "已通过其他阿里云商品实例结算" in page
    assert count(db, GuanceAccount) == 1 and count(db, Workspace) == 0 and count(db, WorkspaceMember) == 0


def test_a_second_submit_after_success_creates_nothing_more(client, db, smtp, bound, solo):
    token = csrf_token(client.get(EXISTING).data)  # the same form, open in a second tab
    create_existing(client, smtp)
    again = client.post(EXISTING, data={**EXISTING_FORM, "code": "000000", "csrf_token": token})
    assert again.headers["Location"] == "/activate/success"
    assert count(db, Workspace) == 1
