"""The registration path: G1 没有费用中心账号, R1 基本信息, R2 企业信息, R3 选择开通方式, then S1 or B0."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from devtools.factories import BillingAccountFactory, CloudAccountBindingFactory, GuanceAccountFactory
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

from .conftest import BOTH_DATABASES, customer_of

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
def arrived(customer):
    """A new customer bought an instance and arrived through 免登; returns the instance ID."""
    customer.arrive(UID)
    return customer.instance_id


def fill_basic(customer, **changes):
    """R1: 获取验证码 for the email, read it from the mailbox, 下一步; the answer, whatever it is."""
    data = {**BASIC, **changes}
    page = customer.on("/register/basic")
    code = send_code(customer, data["email"])
    return customer.browser.submit(page, {**data, "code": code})


def send_code(customer, email: str) -> str:
    """获取验证码 on R1 for `email`: the code mailed to it."""
    customer.on("/register/basic")
    return customer.send_code(email, email)


def fill_company(customer, **changes):
    return customer.browser.submit("/register/company", {**COMPANY, **changes})


def fill_activation(customer, **changes):
    data = {key: value for key, value in {**ACTIVATION, **changes}.items() if value is not None}
    return customer.browser.submit("/register/activation", data)


def register(customer, **basic):
    """R1 and R2: the Guance account exists, R3 is next."""
    assert fill_basic(customer, **basic).location == "/register/company"
    assert fill_company(customer).location == "/register/activation"


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


def later(monkeypatch, **delta):
    """Move the application's clock forward."""
    moment = clock.now() + timedelta(**delta)
    monkeypatch.setattr(clock, "now", lambda: moment)


# ---- G1 ----


def test_the_chooser_leads_to_registration(browser, customer, arrived):
    page = browser.get("/activate/")
    assert "没有费用中心账号" in page.text and "什么是费用中心账号？" in page.text
    assert customer.choose("register").url == "/register/basic"


# ---- The whole path ----


def test_the_whole_path_activates_in_one_go(browser, customer, db, arrived):
    register(customer)
    assert fill_activation(customer).location == "/activate/success"

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

    success = browser.get("/activate/success").text_of(".success-card")
    assert "开通成功" in success and "生产环境" in success and "newcorp" in success
    # L1: the credentials made at R1 log in.
    customer.log_in("newcorp", PASSWORD)


def shown(page) -> set[str]:
    """The labels and buttons a page shows."""
    return set(page.texts_of("label, legend, summary, button")) | {
        b["value"] for b in page.find_all("input[type=submit]")
    }


def test_each_page_shows_its_step_and_its_fields(browser, customer, arrived):
    r1 = browser.get("/register/basic")
    for label in ("站点", "用户名", "登录密码", "确认密码", "邮箱", "获取验证码", "验证码", "手机号", "下一步"):
        assert label in shown(r1), label
    assert r1.current_step == "基本信息"
    assert fill_basic(customer).location == "/register/company"

    r2 = browser.get("/register/company")
    assert r2.current_step == "企业信息"
    for label in ("企业名称", "所属行业", "企业规模", "联系人姓名", "注册"):
        assert label in shown(r2), label
    assert r2.text_of("details.more-info summary") == "更多信息 （选填）"
    assert "我已阅读并同意" in r2.text_of("label[for=agreement]")
    assert "newcorp" in r2.text
    assert fill_company(customer).location == "/register/activation"

    r3 = browser.get("/register/activation")
    assert r3.current_step == "选择开通方式"
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
        assert label in shown(r3), label
    for field, value in (("ali-uid", UID), ("instance-id", arrived)):
        assert r3.value(field) == value and r3.field(field).has_attr("readonly")
    assert r3.checked("create_billing_account")
    assert r3.form().values["method"] == "aliyun"


def test_the_site_chosen_at_r1_is_where_the_account_and_workspace_go(customer, db, arrived):
    register(customer, site="cn4")
    fill_activation(customer)
    assert the(db, GuanceAccount, username="newcorp").site == "cn4"
    assert the(db, Workspace, name="生产环境").site == "cn4"


def test_r1_keeps_the_password_hash_on_the_server(browser, customer, db, arrived):
    fill_basic(customer)
    draft = the(db, RegistrationDraft, username="newcorp")
    assert draft.password_hash.startswith(("scrypt:", "pbkdf2:")) and PASSWORD not in draft.password_hash
    with browser.client.session_transaction() as session:
        assert session["registration_draft"] == draft.id
        assert not any(draft.password_hash in str(value) or PASSWORD in str(value) for value in session.values())


def test_the_company_details_are_optional_and_kept(customer, db, arrived):
    fill_basic(customer)
    fill_company(customer, industry="finance", company_size="200-999", contact_name="王小明")
    account = the(db, GuanceAccount, username="newcorp")
    assert (account.industry, account.company_size, account.contact_name) == ("finance", "200-999", "王小明")


def test_without_the_company_details_they_stay_empty(customer, db, arrived):
    register(customer)
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
def test_r1_explains_each_bad_input_next_to_its_field(browser, db, arrived, field, value, message):
    page = browser.submit("/register/basic", {**BASIC, "code": "123456", field: value})
    assert message in page.error(field)
    if field not in ("username", "site"):
        assert page.value("username") == "newcorp"
    if field not in ("email",):
        assert page.value("email") == EMAIL
    assert not page.value("password") and not page.value("confirm")
    assert not page.value("code")
    assert counts(db)["registration_draft"] == 0


def test_r1_refuses_a_wrong_code_and_saves_nothing(browser, customer, db, arrived):
    wrong = f"{(int(send_code(customer, EMAIL)) + 1) % 10**6:06d}"
    page = browser.submit("/register/basic", {**BASIC, "code": wrong})
    assert "验证码" in page.error("code") and not page.value("code")
    assert page.value("phone") == "13800138000"
    assert counts(db)["registration_draft"] == 0


def test_get_code_without_javascript_keeps_what_was_typed_but_the_passwords(customer, arrived):
    customer.on("/register/basic")
    assert customer.send_code(EMAIL, EMAIL, javascript=False, **{**BASIC, "code": "111111"})
    page = customer.page
    assert page.value("username") == "newcorp" and page.value("phone") == "13800138000"
    assert not page.value("password") and not page.value("code")
    assert not page.error("username")  # only the email is checked before sending


def test_enter_in_a_field_means_next_not_get_code(browser, arrived):
    """Browsers submit with the form's first submit button when Enter is pressed in a field."""
    first = browser.get("/register/basic").form().submit_buttons()[0]
    assert first["name"] == "submit" and first["name"] != "send_code"


def test_get_code_checks_the_email_first(browser, smtp, arrived):
    page = browser.submit("/register/basic", {**BASIC, "email": "nope", "send_code": "1"})
    assert "请输入有效的邮箱地址" in page.error("email")
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
def test_r2_explains_each_bad_input_next_to_its_field(browser, customer, db, arrived, field, value, message):
    fill_basic(customer)
    data = {**COMPANY, "contact_name": "王小明", field: value}
    page = browser.submit("/register/company", {k: v for k, v in data.items() if v != "" or k != "agreement"})
    assert message in page.error(field)
    if field != "company_name":
        assert page.value("company_name") == "新公司科技有限公司"
    if field in ("industry", "company_size", "contact_name"):
        assert page.find("details.more-info").has_attr("open")  # the error is not hidden in a closed 更多信息
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
def test_r3_explains_each_bad_input_next_to_its_field(customer, db, arrived, field, value, message):
    register(customer)
    before = counts(db)
    page = fill_activation(customer, **{field: value})
    assert message in page.error(field)
    if field != "workspace_name":
        assert page.value("workspace_name") == "生产环境"
    assert counts(db) == before


# ---- Usernames and emails already taken ----


def add_guance_account(username="newcorp", email="someone@else.example", site="cn1"):
    GuanceAccountFactory(site=site, username=username, email=email)


@pytest.mark.parametrize("typed", [{}, {"username": "NewCorp"}])
def test_r1_refuses_a_username_taken_on_the_site_and_keeps_the_code(browser, customer, db, arrived, typed):
    add_guance_account(username="newcorp")
    code = send_code(customer, EMAIL)
    page = browser.submit("/register/basic", {**BASIC, **typed, "code": code})
    assert "该用户名在此站点已被使用" in page.error("username")
    assert page.value("username") == "newcorp"  # kept, as the account would store it
    assert counts(db)["registration_draft"] == 0
    # The code was not used up by the refusal: with a free name it still works.
    response = browser.submit("/register/basic", {**BASIC, "username": "newcorp2", "code": code})
    assert response.location == "/register/company"


def test_r1_says_nothing_about_a_username_before_the_code_is_right(browser, db, arrived):
    add_guance_account(username="newcorp")
    for code in ("", "000000"):  # no code, a wrong one: the username is not judged at all
        page = browser.submit("/register/basic", {**BASIC, "code": code})
        assert "已被使用" not in page.text and not page.error("username")


def test_each_taken_username_answer_costs_the_code_a_try(browser, customer, db, arrived):
    add_guance_account(username="newcorp")
    code = send_code(customer, EMAIL)
    for _ in range(5):  # CODE_MAX_ATTEMPTS probes, then the code is void
        page = browser.submit("/register/basic", {**BASIC, "code": code})
    assert "该用户名在此站点已被使用" in page.error("username")
    page = browser.submit("/register/basic", {**BASIC, "username": "newcorp2", "code": code})
    assert "验证码无效或已过期" in page.error("code") and counts(db)["registration_draft"] == 0


def test_r1_says_an_email_is_registered_only_to_who_proved_it(browser, customer, db, arrived):
    add_guance_account(email=EMAIL, username="someone")
    right = send_code(customer, EMAIL)
    guess = browser.submit("/register/basic", {**BASIC, "code": f"{(int(right) + 1) % 10**6:06d}"})
    assert not guess.error("email") and "该邮箱在此站点已注册" not in guess.text
    page = browser.submit("/register/basic", {**BASIC, "code": right})
    assert "该邮箱在此站点已注册" in page.error("email") and page.value("email") == EMAIL
    assert counts(db)["registration_draft"] == 0


def test_the_same_username_on_another_site_is_free(customer, db, arrived):
    add_guance_account(site="cn2")
    assert fill_basic(customer).location == "/register/company"


def test_a_username_taken_between_r1_and_r2_sends_back_to_r1_with_the_answers(browser, customer, db, arrived):
    fill_basic(customer)
    add_guance_account()  # someone else registers newcorp on cn1 meanwhile
    assert fill_company(customer).location == "/register/basic"
    page = browser.get("/register/basic")
    assert "刚刚已被他人注册" in page.flashed()
    assert "该用户名在此站点已被使用" in page.error("username")
    assert page.value("username") == "newcorp" and page.value("email") == EMAIL
    assert counts(db)["guance_account"] == 1 and counts(db)["marketplace_registration"] == 0


def test_a_billing_center_username_already_used_refuses_r3_and_creates_nothing(customer, db, arrived):
    BillingAccountFactory(username="newcorp", email="finance@other.example")
    register(customer)
    before = counts(db)
    page = fill_activation(customer)
    assert "费用中心账号用户名「newcorp」已被其他费用中心账号使用" in page.error("create_billing_account")
    assert page.value("workspace_name") == "生产环境"
    assert counts(db) == before
    assert the(db, MarketplaceRegistration, ali_uid=UID).completed_at is None
    assert the(db, MarketplaceInstance, instance_id=arrived).workspace_id is None
    # Unticked, the same customer can still activate with Guance settlement.
    assert fill_activation(customer, create_billing_account=None).location == "/register/finished"


# ---- Without 同步创建费用中心账号 ----


def test_unticked_creates_a_guance_settled_workspace_and_points_to_b0(browser, customer, db, arrived):
    register(customer)
    assert fill_activation(customer, create_billing_account=None).location == "/register/finished"
    workspace = the(db, Workspace, name="生产环境")
    assert workspace.billing_account_id is None
    assert counts(db)["billing_account"] == 0 and counts(db)["cloud_account_binding"] == 0
    assert the(db, MarketplaceInstance, instance_id=arrived).workspace_id is None

    page = browser.get("/register/finished")
    assert "观测云直接结算" in page.text and "通过阿里云账号结算需要费用中心账号" in page.text
    assert page.links("a[href='/bind/billing']")
    # Finished: never asked again; 免登 offers the chooser (to bind a billing-center account).
    assert browser.get("/register/basic").location == "/register/finished"
    assert browser.get("/register/activation").location == "/register/finished"
    customer.login_free(moment=clock.now() - timedelta(seconds=30), lands="/activate/")


# ---- Leaving and coming back; never twice ----


def test_leaving_after_r2_and_coming_back_through_login_free_resumes_at_r3(app, customer, db, smtp, arrived):
    register(customer)
    later_on = customer_of(app, smtp)  # another day, another browser: only the database remembers
    page = later_on.login_free(arrived, clock.now() - timedelta(seconds=30), lands="/register/activation")
    assert later_on.browser.get("/register/basic").location == "/register/activation"
    assert later_on.browser.get("/register/company").location == "/register/activation"
    assert "观测云账号 newcorp 已注册" in page.text
    assert fill_activation(later_on).location == "/activate/success"
    assert counts(db)["guance_account"] == 1


def test_a_finished_registration_is_never_asked_again(browser, customer, arrived):
    register(customer)
    fill_activation(customer)
    for page in ("/register/basic", "/register/company", "/register/activation", "/register/finished", "/activate/"):
        assert browser.get(page).location == "/activate/success", page
    # 免登 on an activated instance: the console's login, the owner's username filled in
    customer.login_free(moment=clock.now() - timedelta(seconds=30), lands="/login/pwd?site=cn1&username=newcorp")


def test_a_second_instance_of_a_registered_customer_goes_to_b2(customer, arrived):
    register(customer)
    fill_activation(customer)
    customer.arrive(UID, lands="/bind/workspaces")


def test_r2_sent_twice_registers_once(browser, customer, db, arrived):
    fill_basic(customer)
    r2 = browser.get("/register/company")
    first = browser.submit(r2, COMPANY)
    second = browser.submit(r2, COMPANY)
    assert first.location == second.location == "/register/activation"
    assert counts(db)["guance_account"] == 1 and counts(db)["marketplace_registration"] == 1


@BOTH_DATABASES
@pytest.mark.parametrize("with_billing", ["y", None])
def test_two_tabs_pressing_kaitong_at_once_activate_once(app, db, smtp, with_billing):
    first = customer_of(app, smtp)
    first.arrive(UID)
    register(first)
    second = customer_of(app, smtp)
    second.login_free(first.instance_id, clock.now() - timedelta(seconds=30), lands="/register/activation")
    tabs = [(tab.browser, tab.browser.get("/register/activation")) for tab in (first, second)]

    def press(pair):
        browser, page = pair
        data = {key: value for key, value in {**ACTIVATION, "create_billing_account": with_billing}.items() if value}
        return browser.submit(page, data).status

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(press, tabs)) == [302, 302]
    totals = counts(db)
    assert totals["workspace"] == 1
    assert totals["billing_account"] == totals["cloud_account_binding"] == (1 if with_billing else 0)


# ---- Guards ----


@pytest.mark.parametrize("page", ["/register/company", "/register/activation", "/register/finished"])
def test_a_later_step_before_r1_redirects_to_r1(browser, arrived, page):
    assert browser.get(page).location == "/register/basic"


def test_after_r1_later_steps_redirect_to_r2_and_r1_can_be_changed(browser, customer, db, arrived):
    fill_basic(customer)
    assert browser.get("/register/activation").location == "/register/company"
    back = browser.get("/register/basic")
    assert back.value("username") == "newcorp" and back.value("phone") == "13800138000"
    assert not back.value("password")
    # Sent again with a change, it replaces the draft rather than adding one.
    changed = fill_basic(customer, username="newcorp2", email="ops2@newcorp.example")
    assert changed.location == "/register/company"
    assert counts(db)["registration_draft"] == 1
    fill_company(customer)
    assert the(db, GuanceAccount, username="newcorp2") is not None


def test_the_draft_expires(browser, customer, arrived, monkeypatch):
    fill_basic(customer)
    for _ in range(5):  # the session stays in use (idle timeout: 30 minutes) while the draft ages
        later(monkeypatch, minutes=25)
        browser.get("/register/basic")
    assert browser.get("/register/company").location == "/register/basic"


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


def test_the_pages_need_a_marketplace_login(browser):
    for page in ("/register/basic", "/register/company", "/register/activation"):
        response = browser.get(page)
        assert response.status == 401 and "请从阿里云云市场进入" in response.text


def test_a_bound_aliyun_account_does_not_register(browser, db, arrived):
    CloudAccountBindingFactory(ali_uid=UID)
    assert browser.get("/register/basic").location == "/bind/workspaces"


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
    customer, db, arrived, monkeypatch, inside, steps_before, step, then
):
    steps_before(customer)
    before = counts(db)
    monkeypatch.setattr(registrations, inside, exploding(getattr(registrations, inside)))
    with pytest.raises(RuntimeError):
        step(customer)
    assert counts(db) == before
    monkeypatch.undo()
    assert step(customer).location == then  # nothing half-made stands in the way of a retry


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "我的猫叫小白，它今年三岁了", "Blue-Harbor-Lantern-7" + "x" * 107],
    ids=["lower-case-words-and-spaces", "chinese", "128-characters"],
)
def test_r1_takes_any_characters_without_composition_rules(customer, arrived, password):
    assert fill_basic(customer, password=password, confirm=password).location == "/register/company"


def test_the_strength_meter_works_without_javascript(browser, arrived):
    page = browser.submit("/register/basic", {**BASIC, "password": "iloveyou2026", "confirm": "iloveyou2026"})
    assert "password-meter-weak" in page.find(".password-meter")["class"]
    assert page.text_of("#password-strength") == "密码强度：弱"
    page = browser.submit("/register/basic", {**BASIC, "code": "000000"})  # a strong one, a wrong code
    assert page.text_of("#password-strength") == "密码强度：强" and not page.value("password")


def test_the_live_meter_judges_like_the_form(browser, arrived):
    r1 = browser.get("/register/basic")

    def strength(password):
        data = {"password": password, "username": "newcorp", "email": "ops@newcorp.example"}
        return browser.send(r1, "/password/strength", data).json

    assert strength("iloveyou2026") == {
        "score": 1,
        "acceptable": False,
        "message": "密码强度：弱。这是常见或已泄露的密码，请换一个",
    }
    assert strength("Blue-Harbor-Lantern-7") == {"score": 4, "acceptable": True, "message": "密码强度：强"}


def test_the_live_meter_needs_a_wizard_login(browser):
    login_page = browser.get("/login/pwd")
    assert browser.send(login_page, "/password/strength", {"password": "x"}).status == 401


def test_r2_deletes_every_draft_of_the_aliyun_account_at_once(app, customer, db, smtp, arrived):
    other_tab = customer_of(app, smtp)  # a second browser of the same customer, at R2 too
    other_tab.login_free(arrived, clock.now() - timedelta(seconds=30))
    fill_basic(customer)
    fill_basic(other_tab, username="newcorp2", email="ops2@newcorp.example")
    assert counts(db)["registration_draft"] == 2
    assert fill_company(customer).location == "/register/activation"
    assert counts(db)["registration_draft"] == 0  # no password hash waits for a registration that is done
    assert other_tab.browser.get("/register/company").location == "/register/activation"
