"""The registration path: G1 没有费用中心账号, R1 基本信息, R2 企业信息, R3 选择开通方式, then S1 or B0."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from wizard import clock
from wizard.models import (
    BillingAccount,
    CloudAccountBinding,
    GuanceAccount,
    MarketplaceInstance,
    MarketplaceRegistration,
    RegistrationDraft,
    Workspace,
    WorkspaceMember,
)
from wizard.services import registration as registrations

from .activation import send_code
from .conftest import BOTH_DATABASES
from .helpers import csrf_token, submit, text_of
from .marketplace import create_instance, enter_login_free, login_free_url

UID = "1380000000000001"
EMAIL = "ops@newcorp.example"
PASSWORD = "Blue-Harbor-Lantern-7"
BASIC = {
    "site": "cn1",
    "username": "newcorp",
    "password": PASSWORD,
    "confirm": PASSWORD,
    "email": EMAIL,
    "phone": "13800138000",
}
COMPANY = {"company_name": "新公司科技有限公司", "agreement": "y"}
ACTIVATION = {
    "method": "aliyun",
    "workspace_name": "生产环境",
    "workspace_language": "zh",
    "workspace_style": "ops",
    "create_billing_account": "y",
    "agreement": "y",
}
TABLES = (
    GuanceAccount,
    BillingAccount,
    CloudAccountBinding,
    Workspace,
    WorkspaceMember,
    MarketplaceRegistration,
    RegistrationDraft,
)


@pytest.fixture
def arrived(client, app):
    """A new customer bought an instance and arrived through 免登; returns the instance ID."""
    return enter_login_free(client, app, UID)


def fill_basic(client, smtp, **changes):
    """R1: 获取验证码 for the email, read it from the mailbox, 下一步."""
    data = {**BASIC, **changes}
    send_code(client, "/register/basic", {"email": data["email"]})
    return submit(client, "/register/basic", {**data, "code": smtp.last_code(data["email"])})


def fill_company(client, **changes):
    return submit(client, "/register/company", {**COMPANY, **changes})


def fill_activation(client, **changes):
    data = {key: value for key, value in {**ACTIVATION, **changes}.items() if value is not None}
    return submit(client, "/register/activation", data)


def register(client, smtp, **basic):
    """R1 and R2: the Guance account exists, R3 is next."""
    assert fill_basic(client, smtp, **basic).headers["Location"] == "/register/company"
    assert fill_company(client).headers["Location"] == "/register/activation"


def counts(db) -> dict:
    """Rows of every table the path writes, and how many registrations and instances are done."""
    db.session.expire_all()
    rows = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in TABLES}
    rows["completed"] = db.session.scalar(select(func.count()).where(MarketplaceRegistration.completed_at.is_not(None)))
    rows["bound"] = db.session.scalar(select(func.count()).where(MarketplaceInstance.workspace_id.is_not(None)))
    return rows


def the(db, model, **where):
    db.session.expire_all()
    return db.session.scalar(select(model).filter_by(**where))


def field_error(page: str, field: str) -> str:
    """The error shown next to one field (its <p id="<field>-error">), empty when there is none."""
    match = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', page, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


def value_of(page: str, field: str) -> str | None:
    match = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', match.group(0)) if match else None
    return value.group(1) if value else None


def later(monkeypatch, **delta):
    """Move the application's clock forward."""
    moment = clock.now() + timedelta(**delta)
    monkeypatch.setattr(clock, "now", lambda: moment)


# ---- G1 ----


def test_the_chooser_leads_to_registration(client, arrived):
    page = text_of(client.get("/activate/"))
    assert "没有费用中心账号" in page and "什么是费用中心账号？" in page
    assert submit(client, "/activate/", {"path": "register"}).headers["Location"] == "/register/basic"


# ---- The whole path ----


def test_the_whole_path_activates_in_one_go(client, app, db, smtp, arrived):
    register(client, smtp)
    response = fill_activation(client)
    assert response.headers["Location"] == "/activate/success"

    account = the(db, GuanceAccount, username="newcorp")
    assert (account.site, account.email, account.phone, account.company_name) == (
        "cn1",
        EMAIL,
        "13800138000",
        "新公司科技有限公司",
    )
    billing = the(db, BillingAccount, username="newcorp")
    assert (billing.email, billing.password_hash) == (EMAIL, account.password_hash)
    assert the(db, CloudAccountBinding, ali_uid=UID).billing_account_id == billing.id
    workspace = the(db, Workspace, name="生产环境")
    assert (workspace.owner_account_id, workspace.billing_account_id) == (account.id, billing.id)
    assert (workspace.site, workspace.language, workspace.style) == ("cn1", "zh", "ops")
    assert the(db, MarketplaceInstance, instance_id=arrived).workspace_id == workspace.id
    assert the(db, MarketplaceRegistration, ali_uid=UID).completed_at is not None
    assert counts(db)["registration_draft"] == 0

    success = text_of(client.get("/activate/success"))
    assert "开通成功" in success and "生产环境" in success and "newcorp" in success
    # L1: the credentials made at R1 log in.
    login = submit(client, "/login/pwd", {"site": "cn1", "username": "newcorp", "password": PASSWORD})
    assert login.status_code == 302 and "/login/pwd" not in login.headers["Location"]


def test_each_page_shows_its_step_and_its_fields(client, smtp, arrived):
    r1 = text_of(client.get("/register/basic"))
    for label in ("站点", "用户名", "登录密码", "确认密码", "邮箱", "获取验证码", "验证码", "手机号", "下一步"):
        assert f">{label}<" in r1 or f'value="{label}"' in r1, label
    current = r'aria-current="step">\s*<span class="step-number"[^>]*>1</span>\s*<span class="step-label">基本信息'
    assert re.search(current, r1)
    assert fill_basic(client, smtp).headers["Location"] == "/register/company"

    r2 = text_of(client.get("/register/company"))
    for label in ("企业名称", "更多信息", "所属行业", "企业规模", "联系人姓名", "注册"):
        assert label in r2, label
    assert "<details" in r2 and "我已阅读并同意" in r2 and "newcorp" in r2
    assert fill_company(client).headers["Location"] == "/register/activation"

    r3 = text_of(client.get("/register/activation"))
    for label in (
        "阿里云市场开通",
        "工作空间名称",
        "工作空间语言",
        "工作空间风格",
        "账号 ID",
        "商品实例 ID",
        "同步创建费用中心账号",
        "开通",
    ):
        assert label in r3, label
    assert re.search(rf'<input class="input" id="ali-uid" value="{UID}" readonly', r3)
    assert re.search(rf'<input class="input" id="instance-id" value="{arrived}" readonly', r3)
    assert re.search(r'<input checked[^>]*id="create_billing_account"', r3)
    assert re.search(r'<input checked[^>]*value="aliyun"', r3)


def test_the_site_chosen_at_r1_is_where_the_account_and_workspace_go(client, db, smtp, arrived):
    register(client, smtp, site="cn4")
    fill_activation(client)
    assert the(db, GuanceAccount, username="newcorp").site == "cn4"
    assert the(db, Workspace, name="生产环境").site == "cn4"


def test_r1_keeps_the_password_hash_on_the_server(client, db, smtp, arrived):
    fill_basic(client, smtp)
    draft = the(db, RegistrationDraft, username="newcorp")
    assert draft.password_hash.startswith(("scrypt:", "pbkdf2:")) and PASSWORD not in draft.password_hash
    with client.session_transaction() as session:
        assert session["registration_draft"] == draft.id
        assert not any(draft.password_hash in str(value) or PASSWORD in str(value) for value in session.values())


def test_the_company_details_are_optional_and_kept(client, db, smtp, arrived):
    fill_basic(client, smtp)
    fill_company(client, industry="finance", company_size="200-999", contact_name="王小明")
    account = the(db, GuanceAccount, username="newcorp")
    assert (account.industry, account.company_size, account.contact_name) == ("finance", "200-999", "王小明")


def test_without_the_company_details_they_stay_empty(client, db, smtp, arrived):
    register(client, smtp)
    account = the(db, GuanceAccount, username="newcorp")
    assert (account.industry, account.company_size, account.contact_name) == (None, None, None)


# ---- Bad input, field by field: the message next to the field, the rest kept ----

R1_BAD = [
    ("site", "mars", "不是有效的选择"),
    ("username", "", "请输入用户名"),
    ("username", "ab", "用户名为 3–32 位"),
    ("username", "9lives", "用户名为 3–32 位"),
    ("username", "has space", "用户名为 3–32 位"),
    ("username", "x" * 33, "用户名为 3–32 位"),
    ("password", "", "请输入登录密码"),
    ("password", "abc123abc12", "密码至少 12 位"),
    ("password", "iloveyou2026", "这是常见或已泄露的密码"),
    ("password", "aaaaaaaaaaaa", "密码太容易被猜到"),
    ("password", "ops@newcorp.example1", "密码不能以用户名或邮箱为主要内容"),
    ("password", "a1" * 65, "密码不能超过 128 位"),
    ("confirm", "", "请再次输入登录密码"),
    ("confirm", "Passw0rd2027", "两次输入的密码不一致"),
    ("email", "", "请输入邮箱"),
    ("email", "not-an-email", "请输入有效的邮箱地址"),
    ("email", "a" * 250 + "@x.cn", "邮箱地址过长"),
    ("code", "", "请输入验证码"),
    ("code", "12ab56", "验证码是 6 位数字"),
    ("code", "12345", "验证码是 6 位数字"),
    ("phone", "", "请输入手机号"),
    ("phone", "12345", "请输入有效的手机号"),
    ("phone", "23800138000", "请输入有效的手机号"),
]


@pytest.mark.parametrize("field, value, message", R1_BAD)
def test_r1_explains_each_bad_input_next_to_its_field(client, db, arrived, field, value, message):
    page = text_of(submit(client, "/register/basic", {**BASIC, "code": "123456", field: value}))
    assert message in field_error(page, field)
    if field not in ("username", "site"):
        assert value_of(page, "username") == "newcorp"
    if field not in ("email",):
        assert value_of(page, "email") == EMAIL
    assert not value_of(page, "password") and not value_of(page, "confirm")
    assert not value_of(page, "code")
    assert counts(db)["registration_draft"] == 0


def test_r1_refuses_a_wrong_code_and_saves_nothing(client, db, smtp, arrived):
    send_code(client, "/register/basic", {"email": EMAIL})
    wrong = f"{(int(smtp.last_code(EMAIL)) + 1) % 10**6:06d}"
    page = text_of(submit(client, "/register/basic", {**BASIC, "code": wrong}))
    assert "验证码" in field_error(page, "code") and not value_of(page, "code")
    assert value_of(page, "phone") == "13800138000"
    assert counts(db)["registration_draft"] == 0


def test_get_code_without_javascript_keeps_what_was_typed_but_the_passwords(client, smtp, arrived):
    page = text_of(send_code(client, "/register/basic", {**BASIC, "code": "111111"}))
    assert smtp.last_code(EMAIL)
    assert value_of(page, "username") == "newcorp" and value_of(page, "phone") == "13800138000"
    assert not value_of(page, "password") and not value_of(page, "code")
    assert not field_error(page, "username")  # only the email is checked before sending


def test_enter_in_a_field_means_next_not_get_code(client, arrived):
    """Browsers submit with the form's first submit button when Enter is pressed in a field."""
    form = text_of(client.get("/register/basic")).split('<form id="page-form" method="post"', 1)[1]
    first = re.search(r'<(?:button|input)[^>]*type="submit"[^>]*>', form).group(0)
    assert 'name="submit"' in first and "send_code" not in first


def test_get_code_checks_the_email_first(client, smtp, arrived):
    page = text_of(send_code(client, "/register/basic", {**BASIC, "email": "nope"}))
    assert "请输入有效的邮箱地址" in field_error(page, "email")
    assert smtp.messages() == []


R2_BAD = [
    ("company_name", "", "请输入企业名称"),
    ("company_name", "企" * 129, "企业名称不能超过 128 个字符"),
    ("industry", "piracy", "不是有效的选择"),
    ("company_size", "huge", "不是有效的选择"),
    ("contact_name", "名" * 65, "联系人姓名不能超过 64 个字符"),
    ("agreement", "", "请阅读并同意用户协议和隐私政策"),
]


@pytest.mark.parametrize("field, value, message", R2_BAD)
def test_r2_explains_each_bad_input_next_to_its_field(client, db, smtp, arrived, field, value, message):
    fill_basic(client, smtp)
    data = {**COMPANY, "contact_name": "王小明", field: value}
    page = text_of(submit(client, "/register/company", {k: v for k, v in data.items() if v != "" or k != "agreement"}))
    assert message in field_error(page, field)
    if field != "company_name":
        assert value_of(page, "company_name") == "新公司科技有限公司"
    if field in ("industry", "company_size", "contact_name"):
        assert '<details class="more-info" open>' in page  # the error is not hidden in a closed 更多信息
    assert counts(db)["guance_account"] == 0


R3_BAD = [
    ("method", None, "请选择开通方式"),
    ("method", "aws", "不是有效的选择"),
    ("workspace_name", "", "请输入工作空间名称"),
    ("workspace_name", "空" * 65, "工作空间名称不能超过 64 个字符"),
    ("workspace_language", "fr", "不是有效的选择"),
    ("workspace_style", "chaos", "不是有效的选择"),
    ("agreement", None, "请阅读并同意用户协议和隐私政策"),
]


@pytest.mark.parametrize("field, value, message", R3_BAD)
def test_r3_explains_each_bad_input_next_to_its_field(client, db, smtp, arrived, field, value, message):
    register(client, smtp)
    before = counts(db)
    page = text_of(fill_activation(client, **{field: value}))
    assert message in field_error(page, field)
    if field != "workspace_name":
        assert value_of(page, "workspace_name") == "生产环境"
    assert counts(db) == before


# ---- Usernames and emails already taken ----


def add_guance_account(db, username="newcorp", email="someone@else.example", site="cn1"):
    db.session.add(GuanceAccount(site=site, username=username, email=email, password_hash=generate_password_hash("x")))
    db.session.commit()


@pytest.mark.parametrize("typed", [{}, {"username": "NewCorp"}])
def test_r1_refuses_a_username_taken_on_the_site_and_keeps_the_code(client, db, smtp, arrived, typed):
    add_guance_account(db, username="newcorp")
    send_code(client, "/register/basic", {"email": EMAIL})
    code = smtp.last_code(EMAIL)
    page = text_of(submit(client, "/register/basic", {**BASIC, **typed, "code": code}))
    assert "该用户名在此站点已被使用" in field_error(page, "username")
    assert value_of(page, "username") == "newcorp"  # kept, as the account would store it
    assert counts(db)["registration_draft"] == 0
    # The code was not used up by the refusal: with a free name it still works.
    response = submit(client, "/register/basic", {**BASIC, "username": "newcorp2", "code": code})
    assert response.headers["Location"] == "/register/company"


def test_r1_says_nothing_about_a_username_before_the_code_is_right(client, db, smtp, arrived):
    add_guance_account(db, username="newcorp")
    for code in ("", "000000"):  # no code, a wrong one: the username is not judged at all
        page = text_of(submit(client, "/register/basic", {**BASIC, "code": code}))
        assert "已被使用" not in page and not field_error(page, "username")


def test_each_taken_username_answer_costs_the_code_a_try(client, db, smtp, arrived):
    add_guance_account(db, username="newcorp")
    send_code(client, "/register/basic", {"email": EMAIL})
    code = smtp.last_code(EMAIL)
    for _ in range(5):  # CODE_MAX_ATTEMPTS probes, then the code is void
        page = text_of(submit(client, "/register/basic", {**BASIC, "code": code}))
    assert "该用户名在此站点已被使用" in field_error(page, "username")
    page = text_of(submit(client, "/register/basic", {**BASIC, "username": "newcorp2", "code": code}))
    assert "验证码无效或已过期" in page and counts(db)["registration_draft"] == 0


def test_r1_says_an_email_is_registered_only_to_who_proved_it(client, db, smtp, arrived):
    add_guance_account(db, email=EMAIL, username="someone")
    send_code(client, "/register/basic", {"email": EMAIL})
    right = smtp.last_code(EMAIL)
    guess = text_of(submit(client, "/register/basic", {**BASIC, "code": f"{(int(right) + 1) % 10**6:06d}"}))
    assert not field_error(guess, "email") and "该邮箱在此站点已注册" not in guess
    page = text_of(submit(client, "/register/basic", {**BASIC, "code": right}))
    assert "该邮箱在此站点已注册" in field_error(page, "email") and value_of(page, "email") == EMAIL
    assert counts(db)["registration_draft"] == 0


def test_the_same_username_on_another_site_is_free(client, db, smtp, arrived):
    add_guance_account(db, site="cn2")
    assert fill_basic(client, smtp).headers["Location"] == "/register/company"


def test_a_username_taken_between_r1_and_r2_sends_back_to_r1_with_the_answers(client, db, smtp, arrived):
    fill_basic(client, smtp)
    add_guance_account(db)  # someone else registers newcorp on cn1 meanwhile
    response = fill_company(client)
    assert response.headers["Location"] == "/register/basic"
    page = text_of(client.get("/register/basic"))
    assert "刚刚已被他人注册" in page
    assert "该用户名在此站点已被使用" in field_error(page, "username")
    assert value_of(page, "username") == "newcorp" and value_of(page, "email") == EMAIL
    assert counts(db)["guance_account"] == 1 and counts(db)["marketplace_registration"] == 0


def test_a_billing_center_username_already_used_refuses_r3_and_creates_nothing(client, db, smtp, arrived):
    db.session.add(BillingAccount(username="newcorp", email="finance@other.example", password_hash="x"))
    db.session.commit()
    register(client, smtp)
    before = counts(db)
    page = text_of(fill_activation(client))
    assert "费用中心账号用户名「newcorp」已被其他费用中心账号使用" in field_error(page, "create_billing_account")
    assert value_of(page, "workspace_name") == "生产环境"
    assert counts(db) == before
    assert the(db, MarketplaceRegistration, ali_uid=UID).completed_at is None
    assert the(db, MarketplaceInstance, instance_id=arrived).workspace_id is None
    # Unticked, the same customer can still activate with Guance settlement.
    assert fill_activation(client, create_billing_account=None).headers["Location"] == "/register/finished"


# ---- Without 同步创建费用中心账号 ----


def test_unticked_creates_a_guance_settled_workspace_and_points_to_b0(client, app, db, smtp, arrived):
    register(client, smtp)
    response = fill_activation(client, create_billing_account=None)
    assert response.headers["Location"] == "/register/finished"
    workspace = the(db, Workspace, name="生产环境")
    assert workspace.billing_account_id is None
    assert counts(db)["billing_account"] == 0 and counts(db)["cloud_account_binding"] == 0
    assert the(db, MarketplaceInstance, instance_id=arrived).workspace_id is None

    page = text_of(client.get("/register/finished"))
    assert "观测云直接结算" in page and "通过阿里云账号结算需要费用中心账号" in page
    assert 'href="/bind/billing"' in page
    # Finished: never asked again; 免登 offers the chooser (to bind a billing-center account).
    assert client.get("/register/basic").headers["Location"] == "/register/finished"
    assert client.get("/register/activation").headers["Location"] == "/register/finished"
    entry = client.get(login_free_url(app, arrived, clock.now() - timedelta(seconds=30)))
    assert entry.headers["Location"] == "/activate/"


# ---- Leaving and coming back; never twice ----


def test_leaving_after_r2_and_coming_back_through_login_free_resumes_at_r3(client, app, db, smtp, arrived):
    register(client, smtp)
    browser = app.test_client()  # another day, another browser: only the database remembers
    entry = browser.get(login_free_url(app, arrived, clock.now() - timedelta(seconds=30)))
    assert entry.headers["Location"] == "/register/activation"
    assert browser.get("/register/basic").headers["Location"] == "/register/activation"
    assert browser.get("/register/company").headers["Location"] == "/register/activation"
    assert "观测云账号 newcorp 已注册" in text_of(browser.get("/register/activation"))
    assert fill_activation(browser).headers["Location"] == "/activate/success"
    assert counts(db)["guance_account"] == 1


def test_a_finished_registration_is_never_asked_again(client, app, smtp, arrived):
    register(client, smtp)
    fill_activation(client)
    for page in ("/register/basic", "/register/company", "/register/activation", "/register/finished", "/activate/"):
        assert client.get(page).headers["Location"] == "/activate/success", page
    entry = client.get(login_free_url(app, arrived, clock.now() - timedelta(seconds=30)))
    assert entry.headers["Location"] == "/login/pwd?site=cn1&username=newcorp"  # activated: the console's login


def test_a_second_instance_of_a_registered_customer_goes_to_b2(client, app, smtp, arrived):
    register(client, smtp)
    fill_activation(client)
    second = create_instance(client, app, UID)
    assert client.get(login_free_url(app, second)).headers["Location"] == "/bind/workspaces"


def test_r2_sent_twice_registers_once(client, db, smtp, arrived):
    fill_basic(client, smtp)
    token = csrf_token(client.get("/register/company").data)
    first = client.post("/register/company", data={**COMPANY, "csrf_token": token})
    second = client.post("/register/company", data={**COMPANY, "csrf_token": token})
    assert first.headers["Location"] == second.headers["Location"] == "/register/activation"
    assert counts(db)["guance_account"] == 1 and counts(db)["marketplace_registration"] == 1


@BOTH_DATABASES
@pytest.mark.parametrize("with_billing", ["y", None])
def test_two_tabs_pressing_kaitong_at_once_activate_once(app, db, smtp, with_billing):
    first = app.test_client()
    instance_id = enter_login_free(first, app, UID)
    register(first, smtp)
    second = app.test_client()
    second.get(login_free_url(app, instance_id, clock.now() - timedelta(seconds=30)))
    tabs = [(tab, csrf_token(tab.get("/register/activation").data)) for tab in (first, second)]

    def press(pair):
        tab, token = pair
        data = {key: value for key, value in {**ACTIVATION, "create_billing_account": with_billing}.items() if value}
        return tab.post("/register/activation", data={**data, "csrf_token": token}).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(press, tabs)) == [302, 302]
    totals = counts(db)
    assert totals["workspace"] == 1
    assert totals["billing_account"] == totals["cloud_account_binding"] == (1 if with_billing else 0)


# ---- Guards ----


@pytest.mark.parametrize("page", ["/register/company", "/register/activation", "/register/finished"])
def test_a_later_step_before_r1_redirects_to_r1(client, arrived, page):
    assert client.get(page).headers["Location"] == "/register/basic"


def test_after_r1_later_steps_redirect_to_r2_and_r1_can_be_changed(client, db, smtp, arrived):
    fill_basic(client, smtp)
    assert client.get("/register/activation").headers["Location"] == "/register/company"
    back = text_of(client.get("/register/basic"))
    assert value_of(back, "username") == "newcorp" and value_of(back, "phone") == "13800138000"
    assert not value_of(back, "password")
    # Sent again with a change, it replaces the draft rather than adding one.
    changed = fill_basic(client, smtp, username="newcorp2", email="ops2@newcorp.example")
    assert changed.headers["Location"] == "/register/company"
    assert counts(db)["registration_draft"] == 1
    fill_company(client)
    assert the(db, GuanceAccount, username="newcorp2") is not None


def test_the_draft_expires(client, smtp, arrived, monkeypatch):
    fill_basic(client, smtp)
    for _ in range(5):  # the session stays in use (idle timeout: 30 minutes) while the draft ages
        later(monkeypatch, minutes=25)
        client.get("/register/basic")
    assert client.get("/register/company").headers["Location"] == "/register/basic"


def test_saving_a_draft_prunes_expired_ones(app, db, monkeypatch):
    info = registrations.BasicInfo("cn1", "old", "old@x.example", PASSWORD, "13800138000")
    stale = registrations.save_draft("1380000000000009", info)
    later(monkeypatch, hours=2)
    fresh = registrations.save_draft(UID, info)
    assert db.session.get(RegistrationDraft, stale) is None and db.session.get(RegistrationDraft, fresh)


def test_another_aliyun_accounts_draft_is_not_used(app, db):
    info = registrations.BasicInfo("cn1", "old", "old@x.example", PASSWORD, "13800138000")
    draft = registrations.save_draft("1380000000000009", info)
    assert registrations.find_draft(draft, UID) is None


def test_the_pages_need_a_marketplace_login(client):
    for page in ("/register/basic", "/register/company", "/register/activation"):
        response = client.get(page)
        assert response.status_code == 401 and "请从阿里云云市场进入" in text_of(response)


def test_a_bound_aliyun_account_does_not_register(client, db, arrived):
    billing = BillingAccount(username="acme", email="b@acme.example", password_hash="x")
    db.session.add(billing)
    db.session.flush()
    db.session.add(CloudAccountBinding(ali_uid=UID, billing_account_id=billing.id))
    db.session.commit()
    assert client.get("/register/basic").headers["Location"] == "/bind/workspaces"


# ---- One transaction per step ----


def exploding(real):
    def explode(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("the database went away")

    return explode


# Where each step's transaction is made to fail: after its last write, so there is something to undo.
FAILURES = [
    ("add_guance_account", fill_basic, fill_company, "/register/activation"),  # R2: the draft is kept
    ("bind_instance", register, fill_activation, "/activate/success"),  # R3: after account, binding, workspace
]


@BOTH_DATABASES
@pytest.mark.parametrize("inside, steps_before, step, then", FAILURES, ids=["R2", "R3"])
def test_a_failure_inside_a_step_leaves_nothing_of_it(
    client, db, smtp, arrived, monkeypatch, inside, steps_before, step, then
):
    steps_before(client, smtp)
    before = counts(db)
    monkeypatch.setattr(registrations, inside, exploding(getattr(registrations, inside)))
    with pytest.raises(RuntimeError):
        step(client)
    assert counts(db) == before
    monkeypatch.undo()
    assert step(client).headers["Location"] == then  # nothing half-made stands in the way of a retry


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "我的猫叫小白，它今年三岁了", "Blue-Harbor-Lantern-7" + "x" * 107],
    ids=["lower-case-words-and-spaces", "chinese", "128-characters"],
)
def test_r1_takes_any_characters_without_composition_rules(client, smtp, arrived, password):
    response = fill_basic(client, smtp, password=password, confirm=password)
    assert response.headers["Location"] == "/register/company"


def test_the_strength_meter_works_without_javascript(client, smtp, arrived):
    page = text_of(submit(client, "/register/basic", {**BASIC, "password": "iloveyou2026", "confirm": "iloveyou2026"}))
    assert 'class="password-meter password-meter-weak"' in page and "密码强度：弱" in page
    page = text_of(submit(client, "/register/basic", {**BASIC, "code": "000000"}))  # a strong one, a wrong code
    assert "密码强度：强" in page and not value_of(page, "password")


def test_the_live_meter_judges_like_the_form(client, arrived):
    token = csrf_token(client.get("/register/basic").data)

    def strength(password):
        data = {"password": password, "username": "newcorp", "email": "ops@newcorp.example"}
        return client.post("/password/strength", data=data, headers={"X-CSRFToken": token}).get_json()

    assert strength("iloveyou2026") == {
        "score": 1,
        "acceptable": False,
        "message": "密码强度：弱。这是常见或已泄露的密码，请换一个",
    }
    assert strength("Blue-Harbor-Lantern-7") == {"score": 4, "acceptable": True, "message": "密码强度：强"}


def test_the_live_meter_needs_a_wizard_login(app):
    stranger = app.test_client()
    token = csrf_token(stranger.get("/login/pwd").data)
    response = stranger.post("/password/strength", data={"password": "x"}, headers={"X-CSRFToken": token})
    assert response.status_code == 401


def test_r2_deletes_every_draft_of_the_aliyun_account_at_once(app, client, db, smtp, arrived):
    other_tab = app.test_client()  # a second browser of the same customer, at R2 too
    enter_login_free(other_tab, app, UID)
    fill_basic(client, smtp)
    fill_basic(other_tab, smtp, username="newcorp2", email="ops2@newcorp.example")
    assert counts(db)["registration_draft"] == 2
    assert fill_company(client).headers["Location"] == "/register/activation"
    assert counts(db)["registration_draft"] == 0  # no password hash waits for a registration that is done
    assert other_tab.get("/register/company").headers["Location"] == "/register/activation"
