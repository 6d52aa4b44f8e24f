"""Bring a browser (a test client) to any state of the flow, as a customer would: through the pages.

The walking is the customer driver's (devtools/customer.py), the arranged rows the factories'
(devtools/factories.py). Every arrangement uses a new Aliyun account and new names, so many states
can share one database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

from flask.testing import FlaskClient
from sqlalchemy import select

from devtools.alibaba import Alibaba
from devtools.customer import Browser, Customer, NewAccount
from devtools.factories import (
    PASSWORD,
    CloudAccountBindingFactory,
    GuanceAccountFactory,
    billing_account_with_workspaces,
)
from wizard.extensions import db as _db
from wizard.models import BillingAccount, MarketplaceInstance, Workspace

from .support import snapshot_cookies

_serial = count(1)
NEW_PASSWORD = "Blue-Harbor-Lantern-7"

# Where each state's forms live, and which page gives its CSRF token.
STATE_PAGES = {
    "anonymous": "/",
    "unbound": "/activate/",
    "register_company": "/register/company",
    "register_activation": "/register/activation",
    "bound": "/bind/workspaces",
    "activated": "/activate/success",
    "logged_in": "/console/",
    "owner": "/console/",
    "unlocking": "/unlock/",
    "operator": "/ops/",
}


@dataclass
class Arranged:
    """A browser at one state: its cookies (to go back to that state) and what the state is about."""

    name: str
    client: FlaskClient
    cookies: dict
    token: str
    ali_uid: str | None = None
    instance_id: str | None = None
    context: dict = field(default_factory=dict)

    @property
    def browser(self) -> Browser:
        return Browser.of(self.client)

    def reset(self) -> None:
        """Back to the cookies the state was arranged with (a form may have changed the session)."""
        self.client._cookies = dict(self.cookies)


class Flow:
    """Arranges states on one application; `sink` is the SMTP sink that application sends to."""

    def __init__(self, app, sink) -> None:
        self.app, self.sink = app, sink

    def serial(self) -> int:
        return next(_serial)

    def uid(self) -> str:
        return f"139{self.serial():013d}"

    def customer(self, client: FlaskClient | None = None) -> Customer:
        """A customer at `client` (default: a new browser), arriving as Alibaba Cloud sends them."""
        alibaba = Alibaba(self.app.config["ISV_KEY"], Browser.of(self.app.test_client()))
        return Customer(Browser.of(client or self.app.test_client()), self.sink, alibaba)

    def finish(self, name: str, client: FlaskClient, **values) -> Arranged:
        page = Browser.of(client).get(STATE_PAGES[name]).expect(200)
        return Arranged(name, client, snapshot_cookies(client), page.csrf_token, **values)

    def done(self, name: str, customer: Customer, **values) -> Arranged:
        """The customer's browser arranged at `name`, with its Aliyun account and instance."""
        values = {"ali_uid": customer.ali_uid, "instance_id": customer.instance_id, **values}
        return self.finish(name, customer.browser.client, **values)

    def arriving(self) -> Customer:
        """A customer who bought an instance and came in through 免登 (G1)."""
        customer = self.customer()
        customer.arrive(self.uid())
        return customer

    # ---- The states ----

    def anonymous(self) -> Arranged:
        return self.finish("anonymous", self.app.test_client())

    def arrive(self) -> tuple[FlaskClient, str, str]:
        """Bought an instance, came in through 免登: (client, aliUid, instanceId)."""
        customer = self.arriving()
        return customer.browser.client, customer.ali_uid, customer.instance_id

    def unbound(self) -> Arranged:
        return self.done("unbound", self.arriving())

    def code_for(self, client: FlaskClient, page: str, identifier: str, recipient: str, **typed) -> str:
        """获取验证码 on a page without JavaScript (its own form, with what was `typed`); the code mailed."""
        customer = self.customer(client)
        customer.on(page)
        return customer.send_code(identifier, recipient, javascript=False, **typed)

    def basic_info(self, n: int) -> dict:
        return self.new_account(n).basic_info()

    def new_account(self, n: int) -> NewAccount:
        return NewAccount(f"corp{n}", f"ops{n}@corp.example", NEW_PASSWORD)

    def registering(self) -> tuple[Customer, dict]:
        """Through R1 with a new account: at R2 企业信息; the customer and R1's fields."""
        customer, account = self.arriving(), self.new_account(self.serial())
        customer.register_basic(account)
        return customer, account.basic_info()

    def register_company(self) -> Arranged:
        customer, basic = self.registering()
        return self.done("register_company", customer, context=basic)

    def register_activation(self) -> Arranged:
        customer, basic = self.registering()
        customer.register_company("测试公司")
        return self.done("register_activation", customer, context=basic)

    def billing_account(self, workspaces=("生产环境", "测试环境")) -> dict:
        """A billing-center account with `workspaces` (names, numbered), all owned by one Guance account on cn1."""
        n = self.serial()
        names = {"username": f"billing{n}", "email": f"billing{n}@acme.example", "owner": f"owner{n}"}
        with self.app.app_context():
            named = tuple(f"{name}{n}" for name in workspaces)
            billing = billing_account_with_workspaces(names["username"], names["email"], named, owner=names["owner"])
            names["id"] = billing.id
            ids = select(Workspace.id).filter_by(billing_account_id=billing.id).order_by(Workspace.id)
            names["workspaces"] = list(_db.session.scalars(ids))
            _db.session.remove()
        return names

    def bind_directly(self, ali_uid: str, billing: dict) -> None:
        """The Aliyun account bound to the billing-center account, as if B1 had been done elsewhere."""
        with self.app.app_context():
            CloudAccountBindingFactory(ali_uid=ali_uid, billing_account=_db.session.get(BillingAccount, billing["id"]))
            _db.session.remove()

    def bound(self, workspaces=("生产环境", "测试环境")) -> Arranged:
        customer, billing = self.arriving(), self.billing_account(workspaces)
        customer.bind_billing(billing["username"], billing["email"])
        return self.done("bound", customer, context=billing)

    def activated(self) -> Arranged:
        customer, billing = self.arriving(), self.billing_account()
        customer.bind_billing(billing["username"], billing["email"])
        customer.bind_workspace(billing["workspaces"][0])
        return self.done("activated", customer, context=billing)

    def guance_account(self, site="cn1") -> dict:
        n = self.serial()
        account = {"site": site, "username": f"user{n}", "email": f"user{n}@acme.example", "password": PASSWORD}
        with self.app.app_context():
            GuanceAccountFactory(site=site, username=account["username"], email=account["email"])
            _db.session.remove()
        return account

    def logged_in(self) -> Arranged:
        customer, account = self.customer(), self.guance_account()
        customer.log_in(account["username"], account["password"], account["site"])
        return self.finish("logged_in", customer.browser.client, context=account)

    def owner(self) -> Arranged:
        """Logged in as the owner of a billing-center account's two workspaces (解散 is theirs to do)."""
        customer, billing = self.customer(), self.billing_account()
        customer.log_in(billing["owner"], PASSWORD)
        return self.finish("owner", customer.browser.client, context=billing)

    def unlocking(self) -> Arranged:
        """Activated, the instance expired (the workspace counts down), 立即解锁 opened: the unlock choices."""
        customer, billing = self.arriving(), self.billing_account()
        customer.bind_billing(billing["username"], billing["email"])
        customer.bind_workspace(billing["workspaces"][0])
        customer.alibaba.call(action="expiredInstance", instanceId=customer.instance_id).expect(200)
        unlock = customer.browser.get("/lock").expect(200).link("a[href^='/unlock/']")
        customer.browser.get(unlock).expect(302, at="/unlock/")
        return self.done("unlocking", customer, context=billing)

    def operator(self) -> Arranged:
        """Signed in to the operators' console, with a failed task and a webhook to act on."""
        from wizard.models import FailedTask
        from wizard.services.ops import webhooks

        from ..ops_support import add_operator, sign_in

        username = f"ops{self.serial()}"
        add_operator(self.app, username)
        with self.app.app_context():
            task = FailedTask(task_id=f"t{username}", name="deliver_notice", args=[0], error="x", status="failed")
            endpoint = webhooks.create_endpoint("http://127.0.0.1:9/hook", ["instance.created"], "", None).endpoint
            _db.session.add(task)
            _db.session.commit()
            ids = [task.id, endpoint.id]
            _db.session.remove()
        client = self.app.test_client()
        sign_in(client, username)
        return self.finish("operator", client, context={"ids": ids})

    def arrange(self, name: str) -> Arranged:
        return getattr(self, name)()


def instance_workspace(app, instance_id: str) -> int | None:
    with app.app_context():
        try:
            return _db.session.scalar(select(MarketplaceInstance.workspace_id).filter_by(instance_id=instance_id))
        finally:
            _db.session.remove()
