"""The bind path: B0/B1 bind a billing-center account, B2/B3 bind a workspace, S1 success."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from wizard.models import CloudAccountBinding, MarketplaceInstance, Workspace

from .activation import add_billing_account, bind_billing, bind_workspace, send_code, workspace_id
from .conftest import BOTH_DATABASES
from .helpers import csrf_token, submit, text_of
from .marketplace import create_instance, enter_login_free, login_free_url

UID = "1380000000000001"


@pytest.fixture
def billing(db):
    return add_billing_account()


@pytest.fixture
def arrived(client, app, billing):
    """A customer arrived through 免登 and chose 有费用中心账号."""
    return enter_login_free(client, app, UID)


def bound_billing_account(db, ali_uid=UID):
    db.session.expire_all()
    return db.session.scalar(select(CloudAccountBinding.billing_account_id).filter_by(ali_uid=ali_uid))


def instance_workspace(db, instance_id):
    db.session.expire_all()
    return db.session.scalar(select(MarketplaceInstance.workspace_id).filter_by(instance_id=instance_id))


# ---- B0 / B1 ----


def test_the_chooser_leads_to_the_bind_page(client, arrived):
    response = submit(client, "/activate/", {"path": "bind"})
    assert response.headers["Location"] == "/bind/billing"
    page = text_of(client.get("/bind/billing"))
    assert "绑定观测云工作空间" in page and "绑定费用中心账号" in page and ">注册<" in page


def test_the_first_visit_guide_is_dismissed_with_got_it(client, arrived):
    assert "如何快速绑定阿里云账号结算" in text_of(client.get("/bind/billing"))
    submit(client, "/bind/billing", {"next": "/bind/billing"}, action="/bind/guide")
    assert "如何快速绑定阿里云账号结算" not in text_of(client.get("/bind/billing"))


def test_binding_by_username_and_emailed_code(client, db, smtp, arrived, billing):
    response = bind_billing(client, smtp)
    assert response.headers["Location"] == "/bind/workspaces"
    assert bound_billing_account(db) == billing.id
    assert smtp.messages()[0].to == "billing@acme.example"


def test_the_b1_email_names_the_aliyun_account_and_instance_being_bound(client, smtp, arrived):
    send_code(client, "/bind/billing", {"username": "acme_billing"})
    mail = smtp.messages("billing@acme.example")[0]
    for text in (mail.text, mail.html):
        assert f"阿里云账号 {UID} 正在申请绑定此费用中心账号（商品实例 ID：{arrived}）" in text
        assert "如果这不是您本人的操作" in text


def test_a_wrong_code_binds_nothing_and_keeps_the_username(client, db, smtp, arrived):
    send_code(client, "/bind/billing", {"username": "acme_billing"})
    wrong = f"{(int(smtp.last_code('billing@acme.example')) + 1) % 10**6:06d}"
    page = text_of(submit(client, "/bind/billing", {"username": "acme_billing", "code": wrong}))
    assert "验证码" in page and 'value="acme_billing"' in page
    assert bound_billing_account(db) is None


def test_an_unknown_username_gets_the_same_answer_and_no_mail(client, smtp, arrived):
    known = text_of(send_code(client, "/bind/billing", {"username": "acme_billing"}))
    client.get(login_free_url(client.application, create_instance(client, client.application, "1380000000000002")))
    unknown = text_of(send_code(client, "/bind/billing", {"username": "nobody_here"}))
    assert "若该账号存在，验证码已发送至其绑定邮箱" in known and "若该账号存在，验证码已发送至其绑定邮箱" in unknown
    assert [m.to for m in smtp.messages()] == ["billing@acme.example"]


@pytest.mark.parametrize("username, message", [("", "请输入用户名"), ("x" * 65, "用户名不能超过 64 个字符")])
def test_bad_usernames_are_explained_next_to_the_field(client, arrived, username, message):
    page = text_of(submit(client, "/bind/billing", {"username": username, "code": "123456"}))
    assert message in page


def test_bound_to_another_billing_account_gets_a_message_and_nothing_changes(client, db, smtp, arrived, monkeypatch):
    from wizard.services import billing as billing_service

    other = add_billing_account("other_billing", "other@acme.example", workspaces=())
    original = billing_service.binding_of

    def second_tab_binds_first(ali_uid):
        """Another tab binds the Aliyun account to another billing-center account just before this one."""
        if original(ali_uid) is None:
            db.session.add(CloudAccountBinding(ali_uid=ali_uid, billing_account_id=other.id))
            db.session.commit()
        return original(ali_uid)

    monkeypatch.setattr(billing_service, "binding_of", second_tab_binds_first)
    page = text_of(bind_billing(client, smtp))
    assert "该阿里云账号已绑定其他费用中心账号" in page
    assert bound_billing_account(db) == other.id


def test_binding_again_to_the_same_account_is_harmless(db, billing, app):
    from wizard.services.billing import bind_cloud_account

    with app.test_request_context():
        bind_cloud_account(UID, billing.id)
        bind_cloud_account(UID, billing.id)
    assert db.session.scalar(select(func.count()).select_from(CloudAccountBinding)) == 1


def test_binding_to_a_second_account_is_refused_by_the_service(db, billing, app):
    from wizard.services.billing import CloudBindingRefused, bind_cloud_account

    other = add_billing_account("other_billing", "other@acme.example", workspaces=())
    with app.test_request_context():
        bind_cloud_account(UID, billing.id)
        with pytest.raises(CloudBindingRefused):
            bind_cloud_account(UID, other.id)
    assert bound_billing_account(db) == billing.id


# ---- B2 / B3 ----


def test_b2_lists_the_workspaces_as_bindable(client, smtp, arrived):
    bind_billing(client, smtp)
    page = text_of(client.get("/bind/workspaces"))
    assert "生产环境" in page and "测试环境" in page
    assert page.count('<span class="badge badge-info">可绑定</span>') == 2


def test_bind_in_one_step_then_b3_says_so_and_leads_to_success(client, db, smtp, arrived):
    bind_billing(client, smtp)
    b2 = text_of(client.get("/bind/workspaces"))
    assert f'action="/bind/workspaces/{workspace_id("生产环境")}"' in b2  # 绑定 is the row's own form
    assert bind_workspace(client, workspace_id("生产环境")).headers["Location"] == "/bind/workspaces"
    assert instance_workspace(db, arrived) == workspace_id("生产环境")
    b3 = text_of(client.get("/bind/workspaces"))
    assert f"已将工作空间「生产环境」绑定到商品实例 {arrived}" in b3 and "点击确定查看开通结果" in b3
    assert "已绑定" in b3 and "已选择" not in b3 and 'href="/activate/success"' in b3
    s1 = text_of(client.get("/activate/success"))
    assert "开通成功" in s1 and "生产环境" in s1 and "acme_billing" in s1 and UID in s1 and arrived in s1
    assert 'href="/login/pwd?site=cn1&amp;username=acme_owner"' in s1


def test_a_workspace_bound_to_another_live_instance_is_not_bindable(client, app, db, smtp, arrived):
    bind_billing(client, smtp)
    bind_workspace(client, workspace_id("生产环境"))
    # The same customer buys a second instance: 生产环境 settles through the first one.
    second = enter_login_free(client, app, UID)
    page = text_of(client.get("/bind/workspaces"))
    assert "不可绑定" in page and f"已通过阿里云账号 {UID} 的实例 {arrived} 结算" in page
    bind_workspace(client, workspace_id("生产环境"))
    assert instance_workspace(db, second) is None
    assert "已通过其他阿里云商品实例结算" in text_of(client.get("/bind/workspaces"))


def test_a_released_instance_frees_its_workspace(client, app, db, smtp, arrived):
    from .marketplace import call_spi

    bind_billing(client, smtp)
    bind_workspace(client, workspace_id("生产环境"))
    call_spi(client, app, action="releaseInstance", instanceId=arrived, isRefund="false")
    second = enter_login_free(client, app, UID)
    bind_workspace(client, workspace_id("生产环境"))
    assert instance_workspace(db, second) == workspace_id("生产环境")


def test_a_workspace_of_someone_elses_billing_account_cannot_be_bound(client, db, smtp, arrived):
    add_billing_account("stranger", "stranger@acme.example", workspaces=("别人的空间",), owner_username="stranger")
    bind_billing(client, smtp)
    bind_workspace(client, workspace_id("别人的空间"))
    assert instance_workspace(db, arrived) is None


def test_nothing_bindable_offers_to_create_a_workspace(client, app, db, smtp):
    add_billing_account(workspaces=())
    enter_login_free(client, app, UID)
    bind_billing(client, smtp)
    page = text_of(client.get("/bind/workspaces"))
    assert "立即创建工作空间" in page and 'href="/workspace/new"' in page


def test_the_site_selector_is_kept(client, smtp, arrived):
    submit(client, "/bind/billing", {"site": "cn4", "next": "/bind/billing"}, action="/bind/site")
    assert '<option selected value="cn4">' in text_of(client.get("/bind/billing"))


# ---- Guards, double submits, second tabs ----


@pytest.mark.parametrize("path", ["/bind/workspaces", "/workspace/new", "/activate/success"])
def test_later_steps_redirect_to_where_the_customer_really_is(client, arrived, path):
    assert client.get(path).headers["Location"] == "/activate/"


def test_once_bound_the_earlier_steps_redirect_forward(client, smtp, arrived):
    bind_billing(client, smtp)
    assert client.get("/activate/").headers["Location"] == "/bind/workspaces"
    assert client.get("/bind/billing").headers["Location"] == "/bind/workspaces"


def test_a_double_submit_binds_once_and_lands_on_success(client, db, smtp, arrived):
    bind_billing(client, smtp)
    workspace = workspace_id("生产环境")
    token = csrf_token(client.get("/bind/workspaces").data)
    first = client.post(f"/bind/workspaces/{workspace}", data={"csrf_token": token})
    second = client.post(f"/bind/workspaces/{workspace}", data={"csrf_token": token})
    assert first.headers["Location"] == "/bind/workspaces"
    assert second.headers["Location"] == "/activate/success"
    assert instance_workspace(db, arrived) == workspace


def test_login_free_again_after_activation_opens_the_login_with_the_owner_filled_in(client, app, db, smtp, arrived):
    bind_billing(client, smtp)
    bind_workspace(client, workspace_id("生产环境"))
    entry = client.get(login_free_url(app, arrived)).headers["Location"]
    assert entry == "/login/pwd?site=cn1&username=acme_owner"
    page = text_of(client.get(entry))
    assert 'value="acme_owner"' in page and "已填入可登录该工作空间的观测云账号" in page
    assert "/activate/success" in text_of(client.get("/bind/workspaces"))  # S1 stays reachable from B3


def test_login_free_for_a_signed_in_member_lands_in_the_console(client, app, db, smtp, arrived):
    from .activation import PASSWORD

    bind_billing(client, smtp)
    bind_workspace(client, workspace_id("生产环境"))
    signed_in = submit(client, "/login/pwd", {"site": "cn1", "username": "acme_owner", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert client.get(login_free_url(app, arrived)).headers["Location"] == "/console/"
    assert "生产环境" in text_of(client.get("/console/"))  # still signed in: 免登 did not end the session


def test_login_free_for_another_signed_in_account_asks_for_the_members_login(client, app, db, smtp, arrived):
    from .activation import PASSWORD

    add_billing_account("other_billing", "other@acme.example", workspaces=("别处",), owner_username="stranger")
    bind_billing(client, smtp)
    bind_workspace(client, workspace_id("生产环境"))
    submit(client, "/login/pwd", {"site": "cn1", "username": "stranger", "password": PASSWORD})
    entry = client.get(login_free_url(app, arrived)).headers["Location"]
    assert entry == "/login/pwd?site=cn1&username=acme_owner"
    assert client.get("/console/").status_code == 302  # the stranger's session ended with the new 免登


def test_success_names_the_accounts_that_can_log_in(client, app, db, smtp, arrived):
    from wizard.models import GuanceAccount, WorkspaceMember

    bind_billing(client, smtp)
    bind_workspace(client, workspace_id("生产环境"))
    colleague = GuanceAccount(site="cn1", username="colleague", email="colleague@acme.example", password_hash="x")
    db.session.add(WorkspaceMember(workspace_id=workspace_id("生产环境"), account=colleague, role="member"))
    db.session.commit()
    s1 = text_of(client.get("/activate/success"))
    assert "可登录的观测云账号" in s1
    assert s1.index("<strong>acme_owner</strong>") < s1.index("（所有者）") < s1.index("<strong>colleague</strong>")


@BOTH_DATABASES
def test_two_aliyun_accounts_racing_for_one_workspace_one_wins(app, db, smtp):
    """Two customers of one billing-center account bind the same workspace at the same moment."""
    billing = add_billing_account(workspaces=("共享空间",))
    target = workspace_id("共享空间")
    clients = []
    for uid in ("1380000000000001", "1380000000000002"):
        client = app.test_client()
        enter_login_free(client, app, uid)
        db.session.add(CloudAccountBinding(ali_uid=uid, billing_account_id=billing.id))
        clients.append(client)
    db.session.commit()
    pages = [client.get("/bind/workspaces") for client in clients]

    def bind(pair):
        client, page = pair
        client.post(f"/bind/workspaces/{target}", data={"csrf_token": csrf_token(page.data)})
        return text_of(client.get("/bind/workspaces"))

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(bind, zip(clients, pages, strict=True)))
    db.session.expire_all()
    bound = db.session.scalars(select(MarketplaceInstance).where(MarketplaceInstance.workspace_id == target)).all()
    assert len(bound) == 1
    assert sum("已通过其他阿里云商品实例结算" in page for page in outcomes) == 1
    assert db.session.scalar(select(func.count()).select_from(Workspace)) == 1
