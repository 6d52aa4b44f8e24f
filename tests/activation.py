"""The customer most tests arrange: billing-center account acme_billing, its two workspaces owned by the
Guance account acme_owner (devtools/factories.py), and the driver's steps for it (devtools/customer.py)."""

from __future__ import annotations

from sqlalchemy import select

from devtools.factories import PASSWORD, billing_account_with_workspaces  # noqa: F401  (PASSWORD: tests log in)
from wizard.extensions import db as _db
from wizard.models import BillingAccount, Workspace

ACME = ("acme_billing", "billing@acme.example")  # (username, email) of the billing-center account


def add_billing_account(
    username=ACME[0], email=ACME[1], workspaces=("生产环境", "测试环境"), owner_username="acme_owner"
) -> BillingAccount:
    """acme_billing (or another) with `workspaces`, all owned by `owner_username` on 中国区1（杭州）."""
    return billing_account_with_workspaces(username, email, workspaces, owner=owner_username)


def workspace_id(name: str) -> int:
    return _db.session.scalar(select(Workspace.id).filter_by(name=name))


def activate_by_binding(customer, ali_uid="1380000000000001", workspace_name="生产环境") -> str:
    """The whole bind path for acme_billing's customer; returns the instance ID."""
    customer.arrive(ali_uid)
    customer.bind_billing(*ACME)
    customer.bind_workspace(workspace_id(workspace_name))
    return customer.instance_id
