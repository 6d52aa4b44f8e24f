"""A small helper that walks a customer through the bind path, as a browser would (CSRF included)."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from wizard.extensions import db as _db
from wizard.models import BillingAccount, GuanceAccount, Workspace, WorkspaceMember

from .helpers import csrf_token, submit
from .marketplace import enter_login_free

PASSWORD = "Acme-Owner-Lantern-42"


def add_billing_account(
    username="acme_billing",
    email="billing@acme.example",
    workspaces=("生产环境", "测试环境"),
    owner_username="acme_owner",
    site="cn1",
) -> BillingAccount:
    """A billing-center account with `workspaces`, all owned by one Guance account."""
    billing = BillingAccount(username=username, email=email, password_hash=generate_password_hash(PASSWORD))
    owner = _db.session.scalar(select(GuanceAccount).filter_by(site=site, username=owner_username))
    if owner is None:
        owner = GuanceAccount(
            site=site,
            username=owner_username,
            email=f"{owner_username}@acme.example",
            password_hash=generate_password_hash(PASSWORD),
        )
    for name in workspaces:
        workspace = Workspace(name=name, language="zh", style="ops", site=site, owner=owner, billing_account=billing)
        workspace.members.append(WorkspaceMember(account=owner))
        _db.session.add(workspace)
    _db.session.add_all([billing, owner])
    _db.session.commit()
    return billing


def workspace_id(name: str) -> int:
    return _db.session.scalar(select(Workspace.id).filter_by(name=name))


def send_code(client, page: str, data: dict):
    """获取验证码 without JavaScript: the page's own form, submitted with send_code."""
    return submit(client, page, {**data, "send_code": "1"})


def bind_billing(client, smtp, username="acme_billing", email="billing@acme.example"):
    """B1: ask for a code for the username, read it from the mailbox, 绑定."""
    send_code(client, "/bind/billing", {"username": username})
    return submit(client, "/bind/billing", {"username": username, "code": smtp.last_code(email)})


def bind_workspace(client, workspace: int):
    """B2: 绑定 on the workspace's row (one step)."""
    page = client.get("/bind/workspaces")
    return client.post(f"/bind/workspaces/{workspace}", data={"csrf_token": csrf_token(page.data)})


def activate_by_binding(client, app, smtp, ali_uid="1380000000000001", workspace_name="生产环境") -> str:
    """The whole bind path for a customer with a billing-center account; returns the instance ID."""
    instance_id = enter_login_free(client, app, ali_uid)
    bind_billing(client, smtp)
    bind_workspace(client, workspace_id(workspace_name))
    return instance_id
