"""Raw form posts for tests that check the response itself (status, headers, body) rather than walk as
a customer (devtools/customer.py): the page's CSRF token read with the page parser."""

from __future__ import annotations

from flask.testing import FlaskClient

from devtools.pages import Page


def csrf_token(html: str | bytes) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    return Page(200, {}, text).csrf_token


def submit(client: FlaskClient, page_url: str, data: dict | None = None, action: str | None = None, **kwargs):
    """Open `page_url`, then post `data` with the page's CSRF token to `action` (default: the page)."""
    page = client.get(page_url)
    payload = {"csrf_token": csrf_token(page.data), **(data or {})}
    return shown_after(client, client.post(action or page_url, data=payload, **kwargs))


def shown_after(client: FlaskClient, response):
    """The page a browser shows after a wizard form: one answered with errors (or 获取验证码) redirects
    to itself with 303 (Post/Redirect/Get, wizard/form_state.py), and the browser follows."""
    if response.status_code == 303:
        return client.get(response.headers["Location"], follow_redirects=True)
    return response


def text_of(response) -> str:
    return response.get_data(as_text=True)


def run_lifecycle():
    """The lifecycle's periodic job as the queue runs it: in a unit of work (each item in its own)."""
    from wizard.extensions import one_transaction
    from wizard.services import lifecycle

    with one_transaction():
        return lifecycle.run_periodic()


def refuse_once(monkeypatch, module, name: str, refusal) -> None:
    """`module.name` raises `refusal` on its next call, as if another tab had changed things a moment
    before; from then on it is the real one again."""
    original = getattr(module, name)

    def refusing(*args, **kwargs):
        monkeypatch.setattr(module, name, original)
        raise refusal

    monkeypatch.setattr(module, name, refusing)
