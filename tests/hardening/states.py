"""Bring a browser (a test client) to any state of the flow, as a customer would: through the pages.

Every arrangement uses a new Aliyun account and new names, so many states can share one database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import count

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from wizard.extensions import db as _db
from wizard.models import (
    BillingAccount,
    CloudAccountBinding,
    GuanceAccount,
    MarketplaceInstance,
    Workspace,
    WorkspaceMember,
)

from ..activation import PASSWORD
from ..helpers import csrf_token, submit
from ..marketplace import call_spi, enter_login_free
from .support import snapshot_cookies

_serial = count(1)
NEW_PASSWORD = "Blue-Harbor-Lantern-7"
# Accounts arranged for a test need a real hash, not a slow one (the product's own stay scrypt).
QUICK_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

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

    def finish(self, name: str, client, **values) -> Arranged:
        page = client.get(STATE_PAGES[name])
        assert page.status_code == 200, (name, page.status_code, page.headers.get("Location"))
        return Arranged(name, client, snapshot_cookies(client), csrf_token(page.data), **values)

    # ---- The states ----

    def anonymous(self) -> Arranged:
        return self.finish("anonymous", self.app.test_client())

    def arrive(self) -> tuple[FlaskClient, str, str]:
        """Bought an instance, came in through 免登: (client, aliUid, instanceId)."""
        client, uid = self.app.test_client(), self.uid()
        return client, uid, enter_login_free(client, self.app, uid)

    def unbound(self) -> Arranged:
        client, uid, instance_id = self.arrive()
        return self.finish("unbound", client, ali_uid=uid, instance_id=instance_id)

    def code_for(self, client, page: str, source: str, identifier: str, recipient: str, **data) -> str:
        """获取验证码 on a page (without JavaScript), then the code from the mailbox."""
        response = submit(client, page, {**data, source: identifier, "send_code": "1"})
        assert response.status_code == 200 and "code-status-ok" in response.get_data(as_text=True), page
        return self.sink.last_code(recipient)

    def basic_info(self, n: int) -> dict:
        return {
            "site": "cn1",
            "username": f"corp{n}",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "email": f"ops{n}@corp.example",
            "phone": "13800138000",
        }

    def register_company(self) -> Arranged:
        client, uid, instance_id = self.arrive()
        n = self.serial()
        basic = self.basic_info(n)
        code = self.code_for(client, "/register/basic", "email", basic["email"], basic["email"])
        response = submit(client, "/register/basic", {**basic, "code": code})
        assert response.headers.get("Location") == "/register/company", response.status_code
        return self.finish("register_company", client, ali_uid=uid, instance_id=instance_id, context=basic)

    def register_activation(self) -> Arranged:
        arranged = self.register_company()
        response = submit(arranged.client, "/register/company", {"company_name": "测试公司", "agreement": "y"})
        assert response.headers.get("Location") == "/register/activation"
        return self.finish(
            "register_activation",
            arranged.client,
            ali_uid=arranged.ali_uid,
            instance_id=arranged.instance_id,
            context=arranged.context,
        )

    def billing_account(self, workspaces=("生产环境", "测试环境")) -> dict:
        """A billing-center account with `workspaces`, all owned by one Guance account on cn1."""
        n = self.serial()
        names = {"username": f"billing{n}", "email": f"billing{n}@acme.example", "owner": f"owner{n}"}
        with self.app.app_context():
            billing = BillingAccount(username=names["username"], email=names["email"], password_hash=QUICK_HASH)
            owner = GuanceAccount(
                site="cn1", username=names["owner"], email=f"{names['owner']}@acme.example", password_hash=QUICK_HASH
            )
            for name in workspaces:
                workspace = Workspace(
                    name=f"{name}{n}", language="zh", style="ops", site="cn1", owner=owner, billing_account=billing
                )
                workspace.members.append(WorkspaceMember(account=owner))
                _db.session.add(workspace)
            _db.session.add_all([billing, owner])
            _db.session.commit()
            names["id"] = billing.id
            names["workspaces"] = list(
                _db.session.scalars(
                    select(Workspace.id).filter_by(billing_account_id=billing.id).order_by(Workspace.id)
                )
            )
            _db.session.remove()
        return names

    def bind_directly(self, ali_uid: str, billing: dict) -> None:
        """The Aliyun account bound to the billing-center account, as if B1 had been done elsewhere."""
        with self.app.app_context():
            _db.session.add(CloudAccountBinding(ali_uid=ali_uid, billing_account_id=billing["id"]))
            _db.session.commit()
            _db.session.remove()

    def bind_billing(self, client, billing: dict):
        code = self.code_for(client, "/bind/billing", "username", billing["username"], billing["email"])
        return submit(client, "/bind/billing", {"username": billing["username"], "code": code})

    def bound(self, workspaces=("生产环境", "测试环境")) -> Arranged:
        client, uid, instance_id = self.arrive()
        billing = self.billing_account(workspaces)
        assert self.bind_billing(client, billing).headers.get("Location") == "/bind/workspaces"
        return self.finish("bound", client, ali_uid=uid, instance_id=instance_id, context=billing)

    def activated(self) -> Arranged:
        arranged = self.bound()
        workspace = arranged.context["workspaces"][0]
        response = arranged.client.post(f"/bind/workspaces/{workspace}", data={"csrf_token": arranged.token})
        assert response.status_code == 302
        return self.finish(
            "activated",
            arranged.client,
            ali_uid=arranged.ali_uid,
            instance_id=arranged.instance_id,
            context=arranged.context,
        )

    def guance_account(self, site="cn1") -> dict:
        n = self.serial()
        account = {"site": site, "username": f"user{n}", "email": f"user{n}@acme.example", "password": PASSWORD}
        with self.app.app_context():
            _db.session.add(
                GuanceAccount(site=site, username=account["username"], email=account["email"], password_hash=QUICK_HASH)
            )
            _db.session.commit()
            _db.session.remove()
        return account

    def logged_in(self) -> Arranged:
        client, account = self.app.test_client(), self.guance_account()
        response = submit(client, "/login/pwd", {k: account[k] for k in ("site", "username", "password")})
        assert response.headers.get("Location") == "/console/"
        return self.finish("logged_in", client, context=account)

    def owner(self) -> Arranged:
        """Logged in as the owner of a billing-center account's two workspaces (解散 is theirs to do)."""
        billing, client = self.billing_account(), self.app.test_client()
        login = {"site": "cn1", "username": billing["owner"], "password": PASSWORD}
        assert submit(client, "/login/pwd", login).headers.get("Location") == "/console/"
        return self.finish("owner", client, context=billing)

    def unlocking(self) -> Arranged:
        """Activated, the instance expired (the workspace counts down), 立即解锁 opened: the unlock choices."""
        arranged = self.activated()
        call_spi(arranged.client, self.app, action="expiredInstance", instanceId=arranged.instance_id)
        link = re.search(r'href="(/unlock/[^"/]+)"', arranged.client.get("/lock").get_data(as_text=True)).group(1)
        assert arranged.client.get(link).headers.get("Location") == "/unlock/"
        return self.finish(
            "unlocking", arranged.client, ali_uid=arranged.ali_uid, instance_id=arranged.instance_id,
            context=arranged.context,
        )  # fmt: skip

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
