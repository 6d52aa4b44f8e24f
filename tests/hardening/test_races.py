"""3. Races on PostgreSQL: requests lined up by a barrier, each race repeated; exactly one wins.

Threads send real requests (each its own client: a browser, or a tab with the same cookies). A
barrier lines them up before they send; a second barrier, placed inside the product at the point
of decision (after the reads, before the write), makes them all arrive there together, so the
database (its constraints and conditional updates) is what decides, not the timing.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from devtools.customer import Browser, Page
from wizard.blueprints.workspace import views as workspace_views
from wizard.extensions import db as _db
from wizard.extensions import one_transaction
from wizard.models import (
    CloudAccountBinding,
    GuanceAccount,
    MarketplaceInstance,
    MarketplaceRegistration,
    RegistrationDraft,
    SpiCall,
    Workspace,
    WorkspaceMember,
)
from wizard.services import billing, codes, registration, spi, workspaces

from ..helpers import shown_after
from ..marketplace import order_params, signed_query
from .conftest import UNLIMITED, build_app, dispose
from .states import NEW_PASSWORD, Flow
from .support import assert_clean, assert_consistent
from .tally import TALLY

pytestmark = [
    pytest.mark.hardening,
    pytest.mark.postgres,
    pytest.mark.parametrize("module_database", ["postgresql"], indirect=True, scope="module"),
]
CATEGORY = "races"
REPEAT = 3


@pytest.fixture(scope="module")
def race_app(module_database, sink):
    # Enough connections for every request of a race to hold one at the barrier at the same time.
    app = build_app(
        module_database,
        sink,
        **UNLIMITED,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": 30, "max_overflow": 10},
    )
    yield app
    dispose(app)


@pytest.fixture(scope="module")
def flow(race_app, sink):
    return Flow(race_app, sink)


def together(calls) -> list:
    """Run the calls in threads released at the same moment; their answers (or exceptions), in order."""
    start = threading.Barrier(len(calls), timeout=30)
    answers = [None] * len(calls)

    def run(index):
        start.wait()
        try:
            answers[index] = calls[index]()
        except Exception as error:  # shown in the assertion rather than lost in a thread
            answers[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    TALLY.note(CATEGORY, "requests", len(calls))
    for answer in answers:
        assert not isinstance(answer, Exception), repr(answer)
        assert_clean(answer)
    return answers


@contextmanager
def lined_up(monkeypatch, owner, name: str, parties: int):
    """Every request waits at `owner.name` until all `parties` got there, then they go on together."""
    real = getattr(owner, name)
    barrier = threading.Barrier(parties, timeout=30)

    def waiting(*args, **kwargs):
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, waiting)
    try:
        yield
    finally:
        monkeypatch.setattr(owner, name, real)


def tabs(app, arranged, count: int) -> list:
    """`count` tabs of the arranged browser: the same cookies, each its own connection."""
    clients = []
    for _ in range(count):
        client = app.test_client()
        client._cookies = dict(arranged.cookies)
        clients.append(client)
    return clients


def scalar(app, query):
    with app.app_context():
        try:
            return _db.session.scalar(query)
        finally:
            _db.session.remove()


def count_of(app, model, *where) -> int:
    return scalar(app, select(func.count()).select_from(model).where(*where))


def repeated(work, times: int = REPEAT):
    for _ in range(times):
        with TALLY.case(CATEGORY):
            work()


# ---- The marketplace calls createInstance twenty times for one order ----


def test_twenty_concurrent_create_instance_calls_make_one_instance(race_app, monkeypatch):
    def race():
        params = order_params(order_biz_id=f"race{flow_serial()}")
        query = signed_query(race_app, **params)
        with lined_up(monkeypatch, spi, "_insert_or_existing", 20):
            answers = together([lambda: race_app.test_client().get(f"/spi?{query}")] * 20)
        assert [(a.status_code, a.get_json()["instanceId"]) for a in answers] == [(200, params["orderBizId"])] * 20
        instance = MarketplaceInstance.instance_id == params["orderBizId"]
        assert count_of(race_app, MarketplaceInstance, instance) == 1
        audited = count_of(
            race_app,
            SpiCall,
            SpiCall.outcome == "ok",
            SpiCall.action == "createInstance",
            SpiCall.params["orderBizId"].as_string() == params["orderBizId"],
        )
        assert audited == 20
        assert_consistent(race_app)

    repeated(race, 5)


_serials = iter(range(1, 10**6))


def flow_serial() -> int:
    return next(_serials)


# ---- Two Aliyun accounts, ten tabs each, bind the same workspace ----


def test_twenty_binds_of_one_workspace_by_two_aliyun_accounts_bind_it_once(race_app, flow, monkeypatch):
    def race():
        shared = flow.billing_account(workspaces=("共享空间",))
        target = shared["workspaces"][0]
        accounts = []
        for _ in range(2):
            client, uid, instance_id = flow.arrive()
            flow.bind_directly(uid, shared)
            accounts.append(flow.finish("bound", client, ali_uid=uid, instance_id=instance_id))
        calls, opened = [], [tabs(race_app, arranged, 10) for arranged in accounts]
        for arranged, its_tabs in zip(accounts, opened, strict=True):
            for tab in its_tabs:
                calls.append(
                    lambda tab=tab, token=arranged.token: tab.post(
                        f"/bind/workspaces/{target}", data={"csrf_token": token}
                    )
                )
        with lined_up(monkeypatch, workspaces, "bind_instance", 20):
            answers = together(calls)
        assert all(a.status_code == 302 for a in answers)
        bound = [
            scalar(race_app, select(MarketplaceInstance.workspace_id).filter_by(instance_id=a.instance_id))
            for a in accounts
        ]
        assert sorted(bound, key=str) == sorted([target, None], key=str), bound
        # The other account's tabs share one server-side session, as a browser's tabs do: the page says why.
        pages = [Browser.of(tab).get("/bind/workspaces").text for tab in opened[bound.index(None)]]
        assert any("已通过其他阿里云商品实例结算" in page for page in pages)
        assert_consistent(race_app)

    repeated(race)


# ---- Two tabs finishing the same step ----


def two_tabs_same_code(flow, arranged, page: str, source: str, identifier: str, recipient: str, data: dict):
    """Both tabs hold the page and the one code the mailbox got; they submit it at the same moment."""
    first, second = tabs(flow.app, arranged, 2)
    code = flow.code_for(first, page, identifier, recipient, **data)
    token = Browser.of(first).get(page).csrf_token
    return [
        lambda tab=tab: shown_after(
            tab, tab.post(page, data={**data, source: identifier, "code": code, "csrf_token": token})
        )
        for tab in (first, second)
    ]


def one_success(answers, location: str) -> None:
    winners = [a for a in answers if a.status_code == 302 and a.headers["Location"] == location]
    assert len(winners) == 1, [(a.status_code, a.headers.get("Location")) for a in answers]


def test_two_tabs_creating_a_workspace_with_an_existing_account_create_one(race_app, flow, monkeypatch):
    def race():
        arranged = flow.bound(workspaces=())
        owner = flow.guance_account()
        page = "/workspace/new?tab=existing"
        data = {"name": "新空间", "language": "zh", "style": "ops", "agreement": "y"}
        calls = two_tabs_same_code(flow, arranged, page, "email", owner["email"], owner["email"], data)
        with lined_up(monkeypatch, codes, "_matches", 2):  # both read the live code before either uses it
            answers = together(calls)
        one_success(answers, "/bind/workspaces")
        # The loser is sent back (Post/Redirect/Get); its refusal is kept in the session both tabs share,
        # which the winner's request may save over at the same instant: what is certain is the data.
        assert sum(a.status_code == 200 for a in answers) == 1
        assert_one_workspace_bound(race_app, arranged)

    repeated(race)


def test_two_tabs_both_past_the_code_still_create_one_workspace(race_app, flow, monkeypatch):
    """Defence in depth: were both tabs let through the code check, the database still binds once."""

    def race():
        arranged = flow.bound(workspaces=())
        owner = flow.guance_account()
        page = "/workspace/new?tab=existing"
        data = {
            "name": "新空间",
            "language": "zh",
            "style": "ops",
            "agreement": "y",
            "email": owner["email"],
            "code": "123456",
            "csrf_token": arranged.token,
        }
        monkeypatch.setattr(workspace_views, "redeem_code", action_alone)
        with lined_up(monkeypatch, workspaces, "bind_instance", 2):
            answers = together(
                [lambda tab=tab: shown_after(tab, tab.post(page, data=data)) for tab in tabs(race_app, arranged, 2)]
            )
        monkeypatch.undo()
        one_success(answers, "/bind/workspaces")
        # The loser is sent back (Post/Redirect/Get); what its page says is kept in the session both tabs
        # share, which the winner's request may save over at the same instant: what is certain is the data.
        assert sum(a.status_code == 200 for a in answers) == 1
        assert_one_workspace_bound(race_app, arranged)

    repeated(race)


def action_alone(form, source, purpose, action):
    """Every tab past the code check: only the action, in its own transaction."""
    with one_transaction():
        return action()


def assert_one_workspace_bound(app, arranged) -> None:
    billing_id = arranged.context["id"]
    assert count_of(app, Workspace, Workspace.billing_account_id == billing_id) == 1
    workspace = scalar(app, select(Workspace.id).filter_by(billing_account_id=billing_id))
    assert count_of(app, WorkspaceMember, WorkspaceMember.workspace_id == workspace) == 1
    bound = scalar(app, select(MarketplaceInstance.workspace_id).filter_by(instance_id=arranged.instance_id))
    assert bound == workspace
    assert_consistent(app)


def registering_form(flow) -> dict:
    n = flow.serial()
    return {
        "name": "新空间",
        "language": "zh",
        "username": f"newbie{n}",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "email": f"newbie{n}@acme.example",
        "phone": "13800138000",
        "style": "default",
        "agreement": "y",
    }


@pytest.mark.parametrize("past_the_code", [False, True], ids=["same-code", "both-past-the-code"])
def test_two_tabs_registering_and_creating_make_one_account_and_one_workspace(
    race_app, flow, monkeypatch, past_the_code
):
    def race():
        arranged = flow.bound(workspaces=())
        page = "/workspace/new?tab=register"
        data = registering_form(flow)
        if past_the_code:
            monkeypatch.setattr(workspace_views, "redeem_code", action_alone)
            request = {**data, "code": "123456", "csrf_token": arranged.token}
            calls = [
                lambda tab=tab: shown_after(tab, tab.post(page, data=request)) for tab in tabs(race_app, arranged, 2)
            ]
            point = (workspaces, "create_with_new_account")  # both see the username free
        else:
            fields = {k: v for k, v in data.items() if k != "email"}
            calls = two_tabs_same_code(flow, arranged, page, "email", data["email"], data["email"], fields)
            point = (codes, "_matches")
        with lined_up(monkeypatch, *point, 2):
            answers = together(calls)
        monkeypatch.undo()
        one_success(answers, "/bind/workspaces")
        assert count_of(race_app, GuanceAccount, GuanceAccount.username == data["username"]) == 1
        assert_one_workspace_bound(race_app, arranged)

    repeated(race)


@pytest.mark.parametrize("with_billing", ["y", None], ids=["with-billing-account", "guance-settled"])
def test_two_tabs_pressing_kaitong_activate_once(race_app, flow, monkeypatch, with_billing):
    def race():
        arranged = flow.register_activation()
        data = {
            "method": "aliyun",
            "workspace_name": "生产环境",
            "workspace_language": "zh",
            "workspace_style": "ops",
            "agreement": "y",
            "csrf_token": arranged.token,
        }
        if with_billing:
            data["create_billing_account"] = with_billing
        with lined_up(monkeypatch, registration, "_complete", 2):  # both saw R3 not yet done
            answers = together(
                [
                    lambda tab=tab: shown_after(tab, tab.post("/register/activation", data=data))
                    for tab in tabs(race_app, arranged, 2)
                ]
            )
        one_success(answers, "/activate/success" if with_billing else "/register/finished")
        uid = arranged.ali_uid
        account = scalar(race_app, select(MarketplaceRegistration.account_id).filter_by(ali_uid=uid))
        assert count_of(race_app, Workspace, Workspace.owner_account_id == account) == 1
        assert count_of(race_app, CloudAccountBinding, CloudAccountBinding.ali_uid == uid) == (1 if with_billing else 0)
        assert_consistent(race_app)

    repeated(race)


def test_two_tabs_binding_two_billing_accounts_bind_one(race_app, flow, monkeypatch):
    """B1 in two tabs, each with the right code for a different billing-center account."""

    def race():
        arranged = flow.unbound()
        first, second = tabs(race_app, arranged, 2)
        calls = []
        for tab in (first, second):
            account = flow.billing_account(workspaces=())
            code = flow.code_for(tab, "/bind/billing", account["username"], account["email"])
            data = {"username": account["username"], "code": code, "csrf_token": arranged.token}
            calls.append(lambda tab=tab, data=data: shown_after(tab, tab.post("/bind/billing", data=data)))
        with lined_up(monkeypatch, billing, "bind_cloud_account", 2):  # both codes used up, both see no binding
            answers = together(calls)
        one_success(answers, "/bind/workspaces")
        assert "该阿里云账号已绑定其他费用中心账号" in Page.of(next(a for a in answers if a.status_code == 200)).text
        uid = arranged.ali_uid
        assert count_of(race_app, CloudAccountBinding, CloudAccountBinding.ali_uid == uid) == 1
        assert_consistent(race_app)

    repeated(race)


def test_two_tabs_binding_one_billing_account_with_one_code_bind_once(race_app, flow, monkeypatch):
    def race():
        arranged = flow.unbound()
        account = flow.billing_account(workspaces=())
        calls = two_tabs_same_code(
            flow, arranged, "/bind/billing", "username", account["username"], account["email"], {}
        )
        with lined_up(monkeypatch, codes, "_matches", 2):
            answers = together(calls)
        one_success(answers, "/bind/workspaces")
        uid = arranged.ali_uid
        assert count_of(race_app, CloudAccountBinding, CloudAccountBinding.ali_uid == uid) == 1

    repeated(race)


# ---- One code, ten tabs at once ----


def test_ten_tabs_verifying_one_code_at_once_give_one_success(race_app, flow, monkeypatch):
    def race():
        arranged = flow.unbound()
        basic = flow.basic_info(flow.serial())
        everything = tabs(race_app, arranged, 10)
        code = flow.code_for(everything[0], "/register/basic", basic["email"], basic["email"])
        token = Browser.of(everything[0]).get("/register/basic").csrf_token
        data = {**basic, "code": code, "csrf_token": token}
        with lined_up(monkeypatch, codes, "_matches", 10):
            answers = together(
                [lambda tab=tab: shown_after(tab, tab.post("/register/basic", data=data)) for tab in everything]
            )
        one_success(answers, "/register/company")
        # Every other tab is sent back to R1 (Post/Redirect/Get). The ten tabs share one session, and
        # each page's refusal is kept in it for the next GET, so tabs answered at the same instant may
        # show the refusal kept by another (or none); what they show is the code's refusal, nothing else.
        refused = [Page.of(a) for a in answers if a.status_code == 200]
        assert len(refused) == 9 and all(page.find("form[action='/register/basic']") for page in refused)
        assert any("验证码无效或已过期" in page.text for page in refused)
        drafts = count_of(race_app, RegistrationDraft, RegistrationDraft.ali_uid == arranged.ali_uid)
        assert drafts == 1
        assert_consistent(race_app)

    repeated(race)
