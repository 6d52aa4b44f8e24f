"""1. Fuzzing: every POST route with the fields its form expects, every page, and the SPI.

Random Unicode (NUL, unpaired surrogates, bidi marks, emoji, ~100k strings), fields missing,
repeated or sent as files, bodies of the wrong type; with a valid CSRF token and without; in every
wizard state the form belongs to. Never a 500 or a stack trace, and no table changes unless the
request was legitimately accepted (then only the tables that step writes, and every invariant holds).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devtools.pages import Page
from protocol import spi as spi_token
from wizard.blueprints.ops.forms import ActionForm, OpsLoginForm, TotpForm, WebhookForm
from wizard.forms import (
    BindBillingForm,
    BindWorkspaceForm,
    ChoosePathForm,
    CodeRequestForm,
    DissolveWorkspaceForm,
    ExistingAccountWorkspaceForm,
    GuideForm,
    LoginForm,
    NewAccountWorkspaceForm,
    RegisterActivationForm,
    RegisterBasicForm,
    RegisterCompanyForm,
    SettleBillingForm,
    SiteForm,
    SwitchAccountForm,
)
from wizard.services.codes import PURPOSES

from .conftest import UNLIMITED, build_app, dispose
from .states import NEW_PASSWORD, Flow, instance_workspace
from .strategies import field_names, hostile_text, hostile_url_text, presence, values_for
from .support import (
    FORM,
    assert_clean,
    assert_consistent,
    assert_security_headers,
    browser_destination,
    changed_tables,
    encode,
    form_body,
    fuzz_settings,
    query_string,
    row_counts,
)
from .tally import TALLY

pytestmark = [
    pytest.mark.hardening,
    pytest.mark.parametrize("module_database", ["sqlite", "postgresql"], indirect=True, scope="module"),
]
CATEGORY = "fuzz"
# Examples per route and state. PostgreSQL is production's database (and the stricter one: it
# cannot even compare a NUL), so it gets the most; SQLite runs `make run` and the demo.
EXAMPLES = {"sqlite": 12, "postgresql": 25}
SPI_EXAMPLES = {"sqlite": 100, "postgresql": 250}


@pytest.fixture(scope="module")
def examples(module_database) -> str:
    return "postgresql" if module_database.startswith("postgresql") else "sqlite"


# ---- The application under fuzzing, and its states arranged once (again when a case moved them on) ----


class States:
    def __init__(self, flow: Flow) -> None:
        self.flow, self.arranged, self.moved = flow, {}, set()

    def __getitem__(self, name: str):
        if name not in self.arranged or name in self.moved:
            self.arranged[name] = self.flow.arrange(name)
            self.moved.discard(name)
        return self.arranged[name]

    def back_to(self, name: str):
        """The browser of that state, with the cookies it was arranged with."""
        arranged = self[name]
        arranged.reset()
        return arranged


@pytest.fixture(scope="module")
def fuzz_app(module_database, sink):
    app = build_app(module_database, sink, **UNLIMITED)
    yield app
    dispose(app)


@pytest.fixture(scope="module")
def states(fuzz_app, sink):
    return States(Flow(fuzz_app, sink))


@pytest.fixture(scope="module")
def foreign_token(states):
    """A CSRF token that is valid, but for another browser's session."""
    return states.flow.anonymous().token


# ---- What each POST route expects, where it belongs, and what a success may write ----


def redirect_to(*paths: str, outcome: str = "moved") -> Callable:
    def accepted(response, body, arranged, app):
        location = response.headers.get("Location", "")
        return outcome if response.status_code == 302 and location.split("?")[0] in paths else None

    return accepted


def code_sent(response, body, arranged, app):
    if response.status_code == 303:  # Post/Redirect/Get (wizard/form_state.py): the page shows the outcome
        response = arranged.client.get(response.headers["Location"])
    return "kept" if response.status_code == 200 and Page.of(response).find("#code-status.code-status-ok") else None


def json_ok(response, body, arranged, app):
    return "kept" if response.is_json and response.get_json().get("ok") is True else None


def json_answered(response, body, arranged, app):
    return "kept" if response.is_json and response.status_code == 200 else None


def any_redirect(response, body, arranged, app):
    return "kept" if response.status_code == 302 else None


def instance_bound(response, body, arranged, app):
    return "moved" if instance_workspace(app, arranged.instance_id) is not None else None


def either(*checks: Callable) -> Callable:
    def accepted(*args):
        return next((outcome for check in checks if (outcome := check(*args))), None)

    return accepted


def refused_always(*_args):
    return None


@dataclass(frozen=True)
class Route:
    rule: str
    forms: tuple  # form classes whose fields the route reads
    states: tuple[str, ...]
    accepted: Callable = refused_always  # None: refused; "kept": state unchanged; "moved": arrange it again
    writes: frozenset = frozenset()  # the tables a legitimate success may change
    fields: tuple[str, ...] = ()  # fields read outside the form classes
    query: tuple[str, ...] = ()  # query parameters the route reads
    path: Callable | None = None  # (arranged) -> strategy of concrete paths
    json: bool = False  # answers JSON

    def id(self, state: str) -> str:
        return f"POST {self.rule} @{state}"


def workspace_paths(prefix: str = "/bind/workspaces/", suffix: str = "") -> Callable:
    """Paths naming a workspace: the state's own, the database's integer limits, anything at all."""

    def paths(arranged):
        ids = [str(i) for i in arranged.context.get("workspaces", [])] or ["1"]
        edges = [str(n) for n in (0, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**30)]
        segment = st.one_of(
            st.sampled_from(ids), st.sampled_from(edges), st.integers(0, 10**30).map(str), hostile_url_text
        )
        return segment.map(lambda s: prefix + _segment(s) + suffix)

    return paths


def _segment(text: str) -> str:
    from urllib.parse import quote_from_bytes

    return quote_from_bytes(encode(text), safe="") or "x"


def id_paths(prefix: str, suffix: str) -> Callable:
    """Paths naming a row by id: the state's own, the database's integer limits, anything at all."""

    def paths(arranged):
        ids = [str(i) for i in arranged.context.get("ids", [])] or ["1"]
        edges = [str(n) for n in (0, 2**31 - 1, 2**31, 2**63, 10**30)]
        segment = st.one_of(st.sampled_from(ids), st.sampled_from(edges), hostile_url_text)
        return segment.map(lambda s: prefix + _segment(s) + suffix)

    return paths


def any_answer(response, body, arranged, app):
    """Signing in: a refusal is written to the operators' audit trail too, so every clean answer is "kept"."""
    return "kept"


OPS_AUDIT = frozenset({"operator_audit"})
WORKSPACE_WRITES = frozenset({"guance_account", "workspace", "workspace_member", "verification_code"})
# 开通成功 is the activation funnel's last step (services/ops/funnel.py): its event, the instance's progress
# and the funnel's daily roll-up.
ACTIVATED = frozenset({"funnel_event", "activation_progress", "funnel_day", "funnel_day_duration"})

ROUTES = [
    Route(
        "/activate/", (ChoosePathForm,), ("unbound",), redirect_to("/register/basic", "/bind/billing", outcome="kept")
    ),
    Route(
        "/register/basic",
        (RegisterBasicForm,),
        ("unbound", "register_company"),
        either(redirect_to("/register/company"), code_sent),
        frozenset({"registration_draft", "verification_code"}),
    ),
    Route(
        "/register/company",
        (RegisterCompanyForm,),
        ("register_company",),
        redirect_to("/register/activation"),
        frozenset({"guance_account", "marketplace_registration", "registration_draft"}),
    ),
    Route(
        "/register/activation",
        (RegisterActivationForm,),
        ("register_activation",),
        redirect_to("/activate/success", "/register/finished"),
        frozenset({"billing_account", "cloud_account_binding", "workspace", "workspace_member"}) | ACTIVATED,
    ),
    Route(
        "/bind/billing",
        (BindBillingForm,),
        ("unbound",),
        either(redirect_to("/bind/workspaces"), code_sent),
        frozenset({"cloud_account_binding", "verification_code"}),
    ),
    Route(
        "/bind/workspaces/<int:workspace_id>",
        (BindWorkspaceForm,),
        ("bound",),
        instance_bound,
        ACTIVATED,
        path=workspace_paths(),
    ),
    Route("/bind/site", (SiteForm,), ("unbound", "bound", "activated"), any_redirect, fields=("next",)),
    Route("/bind/guide", (GuideForm,), ("anonymous", "unbound"), any_redirect, fields=("next",)),
    Route(
        "/workspace/new",
        (ExistingAccountWorkspaceForm, NewAccountWorkspaceForm),
        ("bound",),
        either(redirect_to("/bind/workspaces"), code_sent),
        WORKSPACE_WRITES,
        query=("tab",),
    ),
    Route("/login/pwd", (LoginForm,), ("anonymous", "logged_in"), any_redirect, query=("next", "site")),
    Route("/logout", (), ("logged_in", "anonymous"), any_redirect),
    Route("/language", (), ("anonymous",), any_redirect, fields=("lang", "next")),
    Route(
        "/codes/send",
        (CodeRequestForm,),
        ("anonymous", "unbound"),
        json_ok,
        frozenset({"verification_code"}),
        json=True,
    ),
    Route(
        "/password/strength",
        (),
        ("anonymous", "unbound"),
        json_answered,
        fields=("password", "username", "email"),
        json=True,
    ),
    Route("/login-free/switch", (SwitchAccountForm,), ("anonymous", "unbound"), any_redirect),
    Route("/dev/mail/clear", (), ("anonymous",), any_redirect),
    Route(
        "/unlock/",
        (SettleBillingForm,),
        ("unlocking", "anonymous"),
        either(redirect_to("/unlock/"), code_sent),
        frozenset({"verification_code", "workspace", "marketplace_instance"}),
    ),
    Route(
        "/console/workspaces/<int:workspace_id>/dissolve",
        (DissolveWorkspaceForm,),
        ("owner", "logged_in"),
        redirect_to("/console/"),
        frozenset({"workspace", "workspace_member", "marketplace_instance"}),
        path=workspace_paths("/console/workspaces/", "/dissolve"),
    ),
]
ROUTES += [
    Route("/ops/login", (OpsLoginForm,), ("anonymous", "operator"), any_answer, OPS_AUDIT, query=("next",)),
    Route("/ops/login/totp", (TotpForm,), ("anonymous", "operator"), any_answer, OPS_AUDIT | {"operator"}),
    Route("/ops/logout", (ActionForm,), ("operator", "anonymous"), redirect_to("/ops/login"), OPS_AUDIT),
    Route(
        "/ops/metering/<int:hour_id>/retry",
        (ActionForm,),
        ("operator",),
        redirect_to("/ops/metering", outcome="kept"),
        OPS_AUDIT | {"metering_hour"},
        path=id_paths("/ops/metering/", "/retry"),
    ),
    Route(
        "/ops/tasks/<int:failed_id>/retry",
        (ActionForm,),
        ("operator",),
        redirect_to("/ops/tasks"),
        OPS_AUDIT | {"failed_task", "email_notice"},
        path=id_paths("/ops/tasks/", "/retry"),
    ),
    Route(
        "/ops/webhooks",
        (WebhookForm,),
        ("operator",),
        any_redirect,
        OPS_AUDIT | {"webhook_endpoint"},
    ),
    *(
        Route(
            f"/ops/webhooks/<int:endpoint_id>/{action}",
            (ActionForm,),
            ("operator",),
            any_redirect,
            OPS_AUDIT | {"webhook_endpoint", "webhook_delivery", "webhook_attempt"},
            path=id_paths("/ops/webhooks/", f"/{action}"),
        )
        for action in ("test", "enable", "disable")
    ),
]
CASES = [pytest.param(route, state, id=route.id(state)) for route in ROUTES for state in route.states]

# Plausible values by field name, so that some cases pass the first checks and reach deeper ones.
PLAUSIBLE = {
    "path": ["register", "bind"],
    "site": ["cn1", "cn4", "us1"],
    "username": ["newcorp", "acme_owner"],
    "password": [NEW_PASSWORD, "Secret123"],
    "confirm": [NEW_PASSWORD],
    "email": ["ops@newcorp.example"],
    "code": ["123456", "000000", "１２３４５６"],
    "phone": ["13800138000", "+85261234567"],
    "company_name": ["新公司科技有限公司"],
    "industry": ["finance"],
    "company_size": ["1-49"],
    "contact_name": ["王小明"],
    "agreement": ["y", "on", "false", ""],
    "method": ["aliyun"],
    "workspace_name": ["生产环境"],
    "name": ["生产环境"],
    "workspace_language": ["zh", "en"],
    "language": ["zh", "en"],
    "workspace_style": ["ops", "default"],
    "style": ["ops", "dev"],
    "create_billing_account": ["y", ""],
    "send_code": ["1"],
    "submit": ["1"],
    "next": ["/bind/billing", "/", "//evil.example"],
    "lang": ["zh", "en"],
    "purpose": list(PURPOSES),
    "identifier": ["ops@newcorp.example", "acme_billing"],
    "ali_uid": ["1380000000000001"],
    "tab": ["existing", "register"],
    "proceed": ["1"],
    "cancel": ["1"],
    "url": ["http://127.0.0.1:9/hook", "ftp://x"],  # (port 9 refuses at once; no name to resolve)
    "events": ["instance.created", "instance.activated"],
    "description": ["ISV"],
}


def field_names_of(app, route: Route) -> list[str]:
    with app.test_request_context():
        names = {f.name for form in route.forms for f in form(meta={"csrf": False})}
    return sorted(names | set(route.fields))


def context_values(arranged) -> list[str]:
    """What the state knows (its usernames, emails): plausible values of its own."""
    return [v for v in arranged.context.values() if isinstance(v, str)]


@st.composite
def requests(draw, route: Route, names: list[str], arranged):
    """(path, body pairs or a multipart mapping or a JSON text, csrf mode, content type)."""
    pairs = []
    for name in names:
        how = draw(presence)
        values = values_for(PLAUSIBLE.get(name, []) + context_values(arranged))
        for _ in range({"missing": 0, "once": 1, "twice": 2}[how]):
            pairs.append((name, draw(values)))
    pairs += draw(st.lists(st.tuples(field_names, hostile_text), max_size=2))
    csrf = draw(st.sampled_from(["valid", "valid", "valid", "missing", "garbage", "foreign", "empty"]))
    path = draw(route.path(arranged)) if route.path else route.rule
    query = [
        (name, draw(values_for(PLAUSIBLE.get(name, []), hostile_url_text)))
        for name in route.query
        if draw(st.booleans())
    ]
    if query:
        path += "?" + query_string(query)
    body = draw(st.sampled_from(["urlencoded", "urlencoded", "urlencoded", "multipart", "json"]))
    return path, pairs, csrf, body


def send(client, path, pairs, csrf, body, token, foreign):
    token_value = {"valid": token, "missing": None, "garbage": "not-a-token", "foreign": foreign, "empty": ""}[csrf]
    if token_value is not None:
        pairs = [("csrf_token", token_value), *pairs]
    if body == "urlencoded":
        return client.post(path, data=form_body(pairs), content_type=FORM)
    if body == "json":
        data = dict(pairs)
        return client.post(
            path,
            data=json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass"),
            content_type="application/json",
        )
    # multipart, one field a file where text is expected; unpaired surrogates cannot be encoded here
    clean = [(n.encode("utf-8", "replace").decode(), v.encode("utf-8", "replace").decode()) for n, v in pairs]
    data = {}
    for index, (name, value) in enumerate(clean):
        if index == len(clean) - 1 and name != "csrf_token":
            data.setdefault(name, []).append((io.BytesIO(value.encode()), "value.txt"))
        else:
            data.setdefault(name, []).append(value)
    return client.post(path, data=data, content_type="multipart/form-data")


def exchange(app, send: Callable) -> tuple:
    """Send one request: (response, its text, the tables it changed). Never a 500 or a stack trace,
    and the security headers on every answer."""
    before = row_counts(app)
    response = send()
    TALLY.note(CATEGORY, "requests")
    text = assert_clean(response)
    assert_security_headers(response)
    return response, text, changed_tables(before, row_counts(app))


def test_every_post_route_is_fuzzed(fuzz_app):
    with TALLY.case(CATEGORY):
        posted = {rule.rule for rule in fuzz_app.url_map.iter_rules() if "POST" in rule.methods}
        assert posted == {route.rule for route in ROUTES}


@pytest.mark.parametrize("route, state", CASES)
def test_a_form_never_fails_and_never_half_writes(fuzz_app, states, foreign_token, examples, route, state):
    names = field_names_of(fuzz_app, route)

    @fuzz_settings(EXAMPLES[examples])
    @given(data=st.data())
    def fuzz(data):
        with TALLY.case(CATEGORY):
            arranged = states.back_to(state)
            path, pairs, csrf, body = data.draw(requests(route, names, arranged))
            response, text, changed = exchange(
                fuzz_app, lambda: send(arranged.client, path, pairs, csrf, body, arranged.token, foreign_token)
            )
            if response.status_code == 308:  # an argument holding "/": Werkzeug merges the slashes, on this site
                # (Werkzeug writes the absolute URL with the request's own scheme: http in the test client)
                location = response.headers["Location"]
                assert route.path and browser_destination(location) == ("http", "localhost"), location
                assert not changed, changed
            elif csrf != "valid":  # (404: a path no rule matches is not a form at all)
                assert response.status_code in ((400, 404, 413) if route.path else (400, 413)), response.status_code
                if response.status_code == 400:
                    if route.json:
                        assert response.get_json()["ok"] is False
                    else:
                        assert Page.of(response).text_of("h1#error-title") == "请求无效"
                assert not changed, changed
            else:
                outcome = route.accepted(response, text, arranged, fuzz_app)
                if outcome is None:
                    assert not changed, changed
                else:
                    TALLY.note(CATEGORY, "inputs accepted")
                    assert set(changed) <= route.writes, changed
                    if outcome == "moved":
                        states.moved.add(state)
            assert_consistent(fuzz_app)

    fuzz()


# ---- Pages: every GET route, with the query parameters the application reads and any others ----

# aliUid and release are the simulator's: here they must change nothing.
QUERY_NAMES = ["next", "site", "tab", "confirm", "aliUid", "release", "to", "verified", "lang"]
# The operators' console's filters and cursors.
QUERY_NAMES += ["q", "field", "status", "after", "from", "kind", "days", "step", "instance", "action", "outcome"]
PAGE_STATES = {
    "/activate/": "unbound",
    "/register/basic": "unbound",
    "/register/company": "register_company",
    "/register/activation": "register_activation",
    "/register/finished": "register_activation",
    "/bind/billing": "unbound",
    "/bind/workspaces": "bound",
    "/workspace/new": "bound",
    "/activate/success": "activated",
    "/console/": "logged_in",
    "/console/datakit": "logged_in",
}


def page_paths(app, arranged) -> st.SearchStrategy[str]:
    """Every GET rule but the SPI, its arguments either real (the state's) or anything at all."""
    real = {
        "filename": "css/app.css",
        "workspace_id": str((arranged.context.get("workspaces") or [1])[0]),
    }
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule == "/spi":
            continue
        arguments = {
            name: st.one_of(st.just(real.get(name, "1")), hostile_url_text.map(_segment)) for name in rule.arguments
        }
        paths.append(
            st.fixed_dictionaries(arguments).map(
                lambda values, rule=rule: re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule.rule)
            )
        )
    return st.one_of(paths)


@pytest.mark.parametrize("state", ["anonymous", "unbound", "bound", "register_activation", "unlocking", "operator"])
def test_pages_answer_any_query_cleanly(fuzz_app, states, examples, state):
    @fuzz_settings(EXAMPLES[examples])
    @given(data=st.data())
    def fuzz(data):
        with TALLY.case(CATEGORY):
            arranged = states.back_to(state)
            path = data.draw(page_paths(fuzz_app, arranged))
            names = data.draw(st.lists(st.one_of(st.sampled_from(QUERY_NAMES), field_names), max_size=4))
            query = [(name, data.draw(values_for(PLAUSIBLE.get(name, []), hostile_url_text))) for name in names]
            url = path + ("?" + query_string(query) if query else "")
            _response, _text, changed = exchange(fuzz_app, lambda: arranged.client.get(url))
            # A wizard page shown is the funnel's step reached (once per instance): the only write a GET may do.
            assert set(changed) <= ACTIVATED, changed
            assert_consistent(fuzz_app)

    fuzz()


# ---- The SPI: random actions and parameters, signed correctly or not ----

SPI_ACTIONS = ["createInstance", "renewInstance", "upgradeInstance", "expiredInstance", "releaseInstance", "verify"]
SPI_NAMES = [
    "aliUid",
    "orderBizId",
    "orderId",
    "productCode",
    "skuId",
    "trial",
    "expiredOn",
    "template",
    "instanceId",
    "isRefund",
    "timeStamp",
]
SPI_CODES = {
    "InvalidToken",
    "MissingParameter",
    "InvalidParameter",
    "UnknownAction",
    "InstanceNotFound",
    "InstanceReleased",
    "OrderConflict",
}
SPI_PLAUSIBLE = {
    "aliUid": ["1380000000000001"],
    "trial": ["true", "false"],
    "isRefund": ["false"],
    "expiredOn": ["2030-01-01 00:00:00"],
    "productCode": ["cmgj00053362"],
    "skuId": ["yuncode5336200001"],
}


@st.composite
def spi_calls(draw, key: str, instances: list[str]):
    action = draw(st.one_of(st.sampled_from(SPI_ACTIONS), hostile_url_text))
    params = {"action": action}
    for name in draw(st.lists(st.one_of(st.sampled_from(SPI_NAMES), field_names), max_size=8, unique=True)):
        params[name] = draw(values_for(SPI_PLAUSIBLE.get(name, []) + instances, hostile_url_text))
    signing = draw(st.sampled_from(["signed", "signed", "missing", "random", "hostile"]))
    pairs = list(params.items())
    if signing == "signed":  # over the values as the server decodes them (invalid UTF-8 read as U+FFFD)
        received = {
            encode(n).decode("utf-8", "replace"): encode(v).decode("utf-8", "replace") for n, v in params.items()
        }
        pairs.append(("token", spi_token.sign(received, key)))
    elif signing == "random":
        pairs.append(("token", draw(st.text("0123456789abcdef", min_size=32, max_size=32))))
    elif signing == "hostile":
        pairs.append(("token", draw(hostile_url_text)))
    if draw(st.booleans()) and pairs and draw(st.booleans()):
        name, _value = draw(st.sampled_from(pairs))
        pairs.append((name, draw(hostile_url_text)))  # a parameter repeated
    return action, signing, pairs


def test_the_spi_answers_any_call_in_its_own_terms(fuzz_app, states, examples):
    instances = [states["unbound"].instance_id]
    client = fuzz_app.test_client()

    @fuzz_settings(SPI_EXAMPLES[examples])
    @given(call=spi_calls(fuzz_app.config["ISV_KEY"], instances))
    def fuzz(call):
        action, signing, pairs = call
        with TALLY.case(CATEGORY):
            client._cookies = {}
            response, body, changed = exchange(fuzz_app, lambda: client.get("/spi?" + query_string(pairs)))
            assert set(changed) <= {"spi_call", "sso_nonce", "marketplace_instance"}, changed
            if action == "verify":  # a browser: the page, whatever else is wrong with the link
                assert response.status_code in (302, 400, 403), response.status_code
                assert "marketplace_instance" not in changed
                if response.status_code != 302:
                    assert "免登" in body
            else:
                answer = response.get_json()
                assert answer is not None, body[:200]
                if response.status_code == 200:
                    assert answer.get("success") is True or "instanceId" in answer
                    TALLY.note(CATEGORY, "SPI calls accepted")
                else:
                    assert answer["success"] is False and answer["code"] in SPI_CODES, answer
                    assert "marketplace_instance" not in changed
                if signing != "signed":
                    assert response.status_code in (400, 403) and "marketplace_instance" not in changed
            assert_consistent(fuzz_app)

    fuzz()
