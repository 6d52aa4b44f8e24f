"""2. The SPI and the login-free entry against tampering: well over 1,000 cases, every one refused.

For each action a genuine request is built, then broken in every way we could think of: each
parameter's value and name changed, parameters removed, added, repeated or merged into their
neighbour (the MD5 rule joins `k=v` with `&` and escapes nothing), the token missing, short, long,
upper-case, not hex, made with another key or for another instance; for the login-free entry also
expired and future timestamps, replays, and instances unknown, expired or released. Each case must
get the documented refusal (the JSON code for SPI actions; the 400/403 page for verify), be recorded
in the audit trail with that outcome, change nothing else, and never start a marketplace login.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from itertools import count

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from protocol import spi as spi_token
from wizard import clock
from wizard.extensions import db as _db
from wizard.services.sso import REFUSALS

from ..marketplace import call_spi, order_params, spi_time
from .conftest import build_app, dispose
from .strategies import hostile_url_text
from .support import assert_clean, assert_security_headers, fuzz_settings, query_string, row_counts
from .tally import TALLY

pytestmark = [
    pytest.mark.hardening,
    pytest.mark.parametrize("module_database", ["sqlite", "postgresql"], indirect=True, scope="module"),
]
CATEGORY = "tampering"
SPI_CODES = {
    "InvalidToken",
    "MissingParameter",
    "InvalidParameter",
    "UnknownAction",
    "InstanceNotFound",
    "InstanceReleased",
    "OrderConflict",
}
_uids = count(1)


@dataclass(frozen=True)
class Expected:
    """The documented refusal: a JSON code for SPI actions, a login-free page reason for verify.
    `consumes`: a valid token in its time window is used up even when the instance is refused."""

    status: int
    code: str | None = None  # JSON error code
    reason: str | None = None  # key of services.sso.REFUSALS
    consumes: bool = False


def invalid_token(action: str) -> Expected:
    return Expected(400, reason="invalid_token") if action == "verify" else Expected(403, "InvalidToken")


def repeated(action: str) -> Expected:
    return Expected(400, reason="invalid_token") if action == "verify" else Expected(400, "InvalidParameter")


ANY_REFUSAL = object()  # any documented refusal (random tampering: which one depends on what broke)


@dataclass
class World:
    app: object
    key: str
    mine: str  # an active instance
    theirs: str  # another Aliyun account's active instance
    expired: str
    released: str
    ali_uid: str

    def genuine(self) -> dict[str, dict[str, str]]:
        """One genuine, unsigned request per action (sent as is, each would be accepted)."""
        now = clock.now()
        return {
            "createInstance": order_params(self.ali_uid, order_biz_id=f"tamper{next(_uids):06d}"),
            "renewInstance": {
                "action": "renewInstance",
                "instanceId": self.mine,
                "orderId": "renew1",
                "expiredOn": spi_time(now + timedelta(days=730)),
            },
            "upgradeInstance": {
                "action": "upgradeInstance",
                "instanceId": self.mine,
                "skuId": "yuncode5336200002",
                "orderId": "upgrade1",
            },
            "expiredInstance": {"action": "expiredInstance", "instanceId": self.mine},
            "releaseInstance": {"action": "releaseInstance", "instanceId": self.mine, "isRefund": "false"},
            "verify": {"action": "verify", "instanceId": self.mine, "timeStamp": spi_time(now - timedelta(seconds=5))},
        }

    def sign(self, params: dict, key: str | None = None) -> list[tuple[str, str]]:
        return list(spi_token.signed(params, key or self.key).items())


@pytest.fixture(scope="module")
def world(module_database, sink):
    app = build_app(module_database, sink)
    client = app.test_client()

    def instance(ali_uid: str) -> str:
        response = call_spi(client, app, **order_params(ali_uid))
        assert response.status_code == 200
        return response.get_json()["instanceId"]

    uid = f"137{next(_uids):013d}"
    expired, released = instance(uid), instance(uid)
    call_spi(client, app, action="expiredInstance", instanceId=expired)
    call_spi(client, app, action="releaseInstance", instanceId=released, isRefund="false")
    yield World(app, app.config["ISV_KEY"], instance(uid), instance(f"137{next(_uids):013d}"), expired, released, uid)
    dispose(app)


# ---- The cases ----


def value_variants(value: str) -> list[str]:
    variants = [
        value + "0",
        value[:-1],
        value.upper(),
        value.lower(),
        value.swapcase(),
        " " + value,
        value + " ",
        "",
        value + "\x00",
        value + "%00",
        value + "\u200b",
        re.sub(r"[0-9A-Za-z]", _fullwidth, value, count=1),
        value + "&key=dev-isv-key",
    ]
    return [v for v in dict.fromkeys(variants) if v != value]


def _fullwidth(match) -> str:
    return chr(ord(match.group(0)) + 0xFEE0)


def token_variants(world: World, params: dict, token: str) -> list[tuple[str, str | None]]:
    canonical = spi_token.canonical_string(params, world.key)
    unsorted = "&".join(f"{k}={v}" for k, v in sorted(params.items(), reverse=True)) + f"&key={world.key}"
    return [
        ("token missing", None),
        ("token empty", ""),
        ("token short", token[:-1]),
        ("token long", token + "0"),
        ("token upper-case", token.upper()),
        ("token not hex", "g" + token[1:]),
        ("token with a space", token + " "),
        ("token 0x", "0x" + token[2:]),
        ("token of another key", spi_token.sign(params, "another-isv-key")),
        ("token without the key", hashlib.md5(canonical.rsplit("&key=", 1)[0].encode()).hexdigest()),
        ("token over unsorted parameters", hashlib.md5(unsorted.encode()).hexdigest()),
        ("token as SHA-256", hashlib.sha256(canonical.encode()).hexdigest()),
        ("token as SHA-1", hashlib.sha1(canonical.encode()).hexdigest()),
        ("token of the empty string", hashlib.md5(b"").hexdigest()),
        ("token reversed", token[::-1]),
        ("token all zeros", "0" * 32),
        ("token with NUL", token[:-1] + "\x00"),
    ]


def cases(world: World) -> list[tuple[str, list[tuple[str, str]], Expected]]:
    """(label, query pairs, expected refusal): well over 500 per database."""
    found = []
    for action, params in world.genuine().items():
        signed = world.sign(params)
        token = dict(signed)["token"]
        bad = invalid_token(action)
        for name, value in params.items():
            for variant in value_variants(value):
                changed = [(n, variant if n == name else v) for n, v in signed]
                expected = bad if name != "action" else invalid_token(variant)
                found.append((f"{action}: {name} changed to {variant!r}", changed, expected))
            for renamed in (name.lower(), name.upper(), name + " ", name + "[]", "_" + name):
                if renamed != name:
                    found.append(
                        (
                            f"{action}: {name} renamed {renamed!r}",
                            [(renamed if n == name else n, v) for n, v in signed],
                            bad if name != "action" else Expected(403, "InvalidToken"),
                        )
                    )
            found.append(
                (
                    f"{action}: {name} removed",
                    [(n, v) for n, v in signed if n != name],
                    bad if name != "action" else Expected(403, "InvalidToken"),
                )
            )
            found.append(
                (
                    f"{action}: {name} removed and signed again",
                    world.sign({n: v for n, v in params.items() if n != name}),
                    missing(action, name),
                )
            )
        for name, value in [*params.items(), ("token", token)]:
            found.append((f"{action}: {name} repeated", [*signed, (name, value)], repeated(action)))
            found.append(
                (f"{action}: {name} repeated with another value", [*signed, (name, value + "1")], repeated(action))
            )
        for extra in ({"extra": "1"}, {"key": world.key}, {"token2": token}, {"": ""}):
            found.append((f"{action}: {extra} added", [*signed, *extra.items()], bad))
        for label, forged in token_variants(world, params, token):
            assert forged != token, label  # a forgery that is the genuine token would be no case at all
            pairs = [(n, v) for n, v in signed if n != "token"] + ([("token", forged)] if forged is not None else [])
            found.append((f"{action}: {label}", pairs, bad))
        found += merged(world, action, params)
    found += signed_but_wrong(world)
    return found


def missing(action: str, name: str) -> Expected:
    """A genuine request without `name`, correctly signed: the documented answer for what is missing."""
    if name == "action":
        return Expected(400, "UnknownAction")
    if action == "verify":
        return Expected(400, reason="missing_instance" if name == "instanceId" else "bad_timestamp")
    if action == "releaseInstance" and name == "isRefund":
        return None  # optional: releasing without it is a genuine call, not a case
    if action == "createInstance" and name in ("trial", "expiredOn"):
        return None  # optional as well
    return Expected(400, "MissingParameter")


def merged(world: World, action: str, params: dict) -> list:
    """A parameter swallowed by its neighbour's value ("a=1&b=2" read as a="1&b=2"): the signed
    string is the same, so the token still matches; what the call then means must be refused."""
    names = sorted(params)
    found = []
    for left, right in zip(names, names[1:], strict=False):
        merged_params = {n: v for n, v in params.items() if n != right}
        merged_params[left] = f"{params[left]}&{right}={params[right]}"
        pairs = [*merged_params.items(), ("token", spi_token.sign(params, world.key))]
        assert spi_token.is_valid(dict(pairs), world.key)
        found.append((f"{action}: {right} merged into {left}", pairs, merged_expected(action, left, right)))
    return found


def merged_expected(action: str, left: str, right: str) -> Expected | set:
    if left == "action" or right == "action":
        return Expected(400, "UnknownAction")
    if action == "verify":
        return Expected(400, reason="missing_instance" if "instanceId" in (right,) else "bad_timestamp")
    return {"MissingParameter", "InvalidParameter", "InstanceNotFound"}  # depends on which one went missing


def signed_but_wrong(world: World) -> list:
    """Correctly signed, so only the values are wrong: each gets the refusal that names what is wrong."""
    now, sign = clock.now(), world.sign
    found = []
    for seconds in (-301, 301, -3600, 3600, -86400, 86400, -10 * 365 * 86400, 10 * 365 * 86400):

        def stamped(seconds=seconds):  # signed when sent: "just outside" must not drift inside meanwhile
            stamp = spi_time(clock.now() + timedelta(seconds=seconds))
            return sign({"action": "verify", "instanceId": world.mine, "timeStamp": stamp})

        found.append((f"verify: timeStamp {seconds:+d} s", stamped, Expected(400, reason="outside_window")))
    for stamp in (
        "tomorrow",
        "",
        "0",
        "1764100000",
        "2026-11-26T10:00:00",
        "2026-11-26 10:00:00+08:00",
        "2026-02-30 10:00:00",
        "0000-00-00 00:00:00",
        "9999-99-99 99:99:99",
        "2026-11-26",
        "\x00",
    ):
        found.append(
            (
                f"verify: timeStamp {stamp!r}",
                sign({"action": "verify", "instanceId": world.mine, "timeStamp": stamp}),
                Expected(400, reason="bad_timestamp"),
            )
        )
    fresh = spi_time(now - timedelta(seconds=30))
    for instance, reason, status in (
        (world.expired, "expired", 403),
        (world.released, "released", 400),
        ("no-such-instance", "unknown_instance", 400),
        ("a\x00b", "unknown_instance", 400),
        ("x" * 300, "unknown_instance", 400),
        ("实例", "unknown_instance", 400),
    ):
        found.append(
            (
                f"verify: instance {instance[:20]!r}",
                sign({"action": "verify", "instanceId": instance, "timeStamp": fresh}),
                Expected(status, reason=reason, consumes=True),
            )
        )
    theirs = sign({"action": "verify", "instanceId": world.theirs, "timeStamp": fresh})
    found.append(
        (
            "verify: another instance's token",
            [(n, world.mine if n == "instanceId" else v) for n, v in theirs],
            Expected(400, reason="invalid_token"),
        )
    )
    found.append(
        (
            "verify: forged with another key",
            sign({"action": "verify", "instanceId": world.mine, "timeStamp": fresh}, "another-isv-key"),
            Expected(400, reason="invalid_token"),
        )
    )
    lifecycle = [
        (
            {"action": "renewInstance", "instanceId": "nope", "orderId": "o", "expiredOn": spi_time(now)},
            404,
            "InstanceNotFound",
        ),
        (
            {"action": "renewInstance", "instanceId": world.released, "orderId": "o", "expiredOn": spi_time(now)},
            409,
            "InstanceReleased",
        ),
        (
            {"action": "upgradeInstance", "instanceId": world.released, "orderId": "o", "skuId": "s"},
            409,
            "InstanceReleased",
        ),
        ({"action": "expiredInstance", "instanceId": world.released}, 409, "InstanceReleased"),
        (
            {"action": "renewInstance", "instanceId": world.mine, "orderId": "o", "expiredOn": "next year"},
            400,
            "InvalidParameter",
        ),
        (
            {"action": "renewInstance", "instanceId": "a\x00b", "orderId": "o", "expiredOn": spi_time(now)},
            400,
            "InvalidParameter",
        ),
        ({"action": "deleteEverything", "instanceId": world.mine}, 400, "UnknownAction"),
        ({"action": "verify\x00", "instanceId": world.mine}, 400, "UnknownAction"),
        ({**order_params(world.ali_uid), "aliUid": "12ab"}, 400, "InvalidParameter"),
        ({**order_params(world.ali_uid), "trial": "maybe"}, 400, "InvalidParameter"),
        ({**order_params(world.ali_uid), "expiredOn": "2030/01/01"}, 400, "InvalidParameter"),
        ({**order_params(world.ali_uid), "orderBizId": "x" * 65}, 400, "InvalidParameter"),
        ({**order_params(world.ali_uid), "orderBizId": "biz\x00"}, 400, "InvalidParameter"),
        ({**order_params(world.ali_uid), "orderBizId": world.mine, "aliUid": "1380000000009999"}, 409, "OrderConflict"),
    ]
    for params, status, code in lifecycle:
        found.append((f"{params['action']!r}: signed, {code}", sign(params), Expected(status, code)))
    return found


# ---- Checking one case ----


def fingerprint(app) -> list:
    """Everything about the instances the SPI could change."""
    with app.app_context(), _db.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT instance_id, ali_uid, order_id, sku_id, status, expires_at, workspace_id, released_at "
                "FROM marketplace_instance ORDER BY id"
            )
        ).all()


def last_audit(app) -> tuple[str, str]:
    with app.app_context(), _db.engine.connect() as connection:
        return tuple(connection.execute(text("SELECT action, outcome FROM spi_call ORDER BY id DESC LIMIT 1")).one())


def session_login(app, response) -> bool:
    """Whether the answer hands the browser a marketplace login."""
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if app.config["SESSION_COOKIE_NAME"] in cookie:
            value = cookie[app.config["SESSION_COOKIE_NAME"]].value
            with app.app_context():
                data = (app.session_interface.stored(value) or {}) if value else {}
            if "market_login" in data:
                return True
    return False


def snapshot(app) -> tuple[dict, list]:
    return row_counts(app), fingerprint(app)


def check(world: World, pairs, expected, before: tuple[dict, list]) -> tuple[dict, list]:
    """Send one case; returns the snapshot after it (the next case's `before`)."""
    app = world.app
    pairs = pairs() if callable(pairs) else pairs
    response = app.test_client().get("/spi?" + query_string(pairs))
    body = assert_clean(response)
    assert_security_headers(response)
    assert not session_login(app, response), "a refused request started a marketplace login"
    after = snapshot(app)
    counts, previous = dict(after[0]), dict(before[0])
    assert counts.pop("spi_call") == previous.pop("spi_call") + 1, "every call is audited, once"
    nonces = (counts.pop("sso_nonce"), previous.pop("sso_nonce"))
    assert counts == previous, {k: (previous[k], counts[k]) for k in previous if previous[k] != counts[k]}
    assert after[1] == before[1], "an instance changed"
    action, outcome = last_audit(app)
    if expected is ANY_REFUSAL:  # refused, by whichever documented answer fits what was broken
        assert nonces[0] == nonces[1]
        if response.is_json:
            expected = response.get_json()["code"] if response.get_json()["code"] in SPI_CODES else "?"
        else:
            reasons = [r for r, (_status, message) in REFUSALS.items() if str(message) in body]
            expected = reasons[0] if reasons else "?"
    if isinstance(expected, (set, str)):  # one of several documented codes
        assert response.status_code in (400, 403, 404, 409), (response.status_code, body[:300])
        code = response.get_json()["code"] if response.is_json else outcome
        assert code in (expected if isinstance(expected, set) else {expected}) and outcome == code, body[:300]
        return after
    assert response.status_code == expected.status, (response.status_code, body[:300])
    assert nonces[0] == nonces[1] + (1 if expected.consumes else 0)
    if expected.code:
        answer = response.get_json()
        assert answer and answer["success"] is False and answer["code"] == expected.code, body[:300]
        assert outcome == expected.code
    else:
        assert "免登" in body and str(REFUSALS[expected.reason][1]) in body, body[:600]
        assert 'href="http://127.0.0.1:5001/instances"' in body  # back to 已购买的服务, the way out
        assert (action, outcome) == ("verify", expected.reason)
    return after


def run(world: World, found: list) -> list[str]:
    failures, state = [], snapshot(world.app)
    for label, pairs, expected in found:
        if expected is None:
            continue
        try:
            with TALLY.case(CATEGORY):
                state = check(world, pairs, expected, state)
        except AssertionError as failure:
            failures.append(f"{label}: {failure}")
            state = snapshot(world.app)
    return failures


def test_every_tampered_request_is_refused_with_the_documented_error(world):
    found = cases(world)
    assert len(found) >= 500
    failures = run(world, found)
    assert not failures, f"{len(failures)} of {len(found)} cases not refused as documented:\n" + "\n".join(
        failures[:20]
    )


def test_replayed_links_are_refused_everywhere_but_the_browser_that_used_them(world):
    app, now = world.app, clock.now()
    failures = []
    for seconds in (5, 60, 280):  # the last second of the window: test_regressions.py, with a frozen clock
        link = world.sign(
            {"action": "verify", "instanceId": world.mine, "timeStamp": spi_time(now - timedelta(seconds=seconds))}
        )
        first = app.test_client()
        response = first.get("/spi?" + query_string(link))
        assert response.status_code == 302 and session_login(app, response)  # the genuine first use
        for _ in range(3):  # then the same link, from other browsers
            failures += run(world, [(f"replay {seconds}s", link, Expected(400, reason="replayed"))])
        with TALLY.case(CATEGORY):  # a double click in the first browser: where it went, no new login
            again = first.get("/spi?" + query_string(link))
            assert again.status_code == 302 and not session_login(app, again), again.headers.getlist("Set-Cookie")
    refused_once = world.sign({"action": "verify", "instanceId": "no-such-instance", "timeStamp": spi_time(now)})
    failures += run(
        world,
        [
            ("unknown instance", refused_once, Expected(400, reason="unknown_instance", consumes=True)),
            ("unknown instance, again", refused_once, Expected(400, reason="replayed")),
        ],
    )
    assert not failures, failures


@fuzz_settings(150)
@given(data=st.data())
def test_random_tampering_is_refused(world, data):
    """Hypothesis picks the action, the parameter and what to do to it; the request must be refused."""
    genuine = world.genuine()
    action = data.draw(st.sampled_from(sorted(genuine)))
    params = genuine[action]
    pairs = world.sign(params)
    name = data.draw(st.sampled_from([n for n, _ in pairs]))
    how = data.draw(st.sampled_from(["replace", "append", "drop", "repeat"]))
    value = data.draw(hostile_url_text)
    if how == "replace":
        pairs = [(n, value if n == name else v) for n, v in pairs]
    elif how == "append":
        pairs = [(n, v + value if n == name else v) for n, v in pairs]
    elif how == "drop":
        pairs = [(n, v) for n, v in pairs if n != name]
    else:
        pairs = [*pairs, (name, value)]
    if pairs == world.sign(params):
        return  # the "tampering" changed nothing: a genuine request, not a case
    failures = run(world, [(f"{action}: {how} {name} {value!r}", pairs, ANY_REFUSAL)])
    assert not failures, failures
