"""Verification codes: issued, queued, mailed over real SMTP, verified once, against guessing and abuse.

The testing profile runs queued tasks at once (immediate mode), so a code is in the sink when the
request returns; a retry after a failed delivery runs when the test calls run_scheduled.
"""

from __future__ import annotations

import mailbox
import threading
import time
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from devtools.ports import free_port
from wizard import config
from wizard.blueprints.devmail.mailbox import read_messages, start_sink
from wizard.extensions import db as _db
from wizard.extensions import one_transaction
from wizard.models import BillingAccount, FailedTask, GuanceAccount, VerificationCode
from wizard.services import codes, notices

from .conftest import BOTH_DATABASES, app_with
from .queue_support import queue_of, run_scheduled

EMAIL = "alice@example.com"


@pytest.fixture
def db(db, app):
    """As a page calls the service: inside a request, so messages come out in the page's language."""
    with app.test_request_context():
        yield db


def send(identifier=EMAIL, purpose="register", language="zh") -> codes.CodeSent:
    with one_transaction():  # as the page's view runs it
        return codes.request_code(purpose, identifier, language)


def check(code, identifier=EMAIL, purpose="register") -> None:
    with one_transaction():  # as the page's view runs it: the code used up with the action, or not at all
        codes.verify_code(purpose, identifier, code)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def rows(key=EMAIL) -> list[VerificationCode]:
    _db.session.expire_all()
    query = select(VerificationCode).filter_by(recipient_key=key).order_by(VerificationCode.id)
    return _db.session.scalars(query).all()


def db_rows(model) -> list:
    _db.session.expire_all()
    return _db.session.scalars(select(model)).all()


def in_threads(app, work, count=2) -> list[str]:
    """Run `work` in `count` threads at once; each outcome is "ok" or the refusal's class name."""
    outcomes: list[str] = []

    def run():
        with app.app_context():
            try:
                work()
                outcomes.append("ok")
            except codes.CodeError as refusal:
                outcomes.append(type(refusal).__name__)
            except Exception as error:  # reported in the assertion instead of lost in the thread
                outcomes.append(repr(error))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


# ---- Arrives, works once ----


def test_a_code_arrives_by_email_and_works_exactly_once(db, smtp):
    sent = send("  Alice@Example.com ")
    assert str(sent.message) == "验证码已发送，请查收邮件" and sent.retry_after == 60
    code = smtp.last_code(EMAIL)
    assert len(code) == 6 and code.isdigit()
    check(code, "ALICE@example.com")
    with pytest.raises(codes.NoValidCode):
        check(code)


def test_the_code_keeps_its_leading_zeros(db, smtp, monkeypatch):
    seed = next(f"seed{n}" for n in range(10_000) if codes.code_for(EMAIL, "register", f"seed{n}").startswith("00"))
    monkeypatch.setattr(codes, "new_seed", lambda: seed)
    send()
    code = smtp.last_code(EMAIL)
    assert code.startswith("00") and code == codes.code_for(EMAIL, "register", seed)
    check(code)


def test_the_email_states_the_code_its_purpose_validity_and_what_to_do_if_unasked(app, db, smtp):
    send()
    message = smtp.messages(EMAIL)[0]
    code = smtp.last_code(EMAIL)
    assert message.subject == "观测云验证码：注册观测云账号"
    for part in (message.text, message.html):
        assert code in part
        assert "注册观测云账号" in part
        assert "10 分钟" in part
        assert "如果您没有请求这个验证码，请忽略这封邮件。" in part
    assert 'lang="zh-CN"' in message.html
    stored = next(iter(mailbox.Maildir(smtp.maildir, create=False)))
    assert stored["From"].endswith("<no-reply@guance.example>")


def test_the_email_is_written_in_the_language_of_the_page(db, smtp):
    send(language="en")
    assert '<html lang="en">' in smtp.messages(EMAIL)[0].html


# ---- Guessing ----


def test_five_wrong_codes_void_the_code_even_for_the_right_one(db, smtp):
    send()
    code = smtp.last_code(EMAIL)
    for remaining in (4, 3, 2, 1):
        with pytest.raises(codes.WrongCode) as refusal:
            check(wrong(code))
        assert refusal.value.remaining == remaining
        assert str(refusal.value.message) == f"验证码错误，还可以尝试 {remaining} 次"
    with pytest.raises(codes.TooManyWrongCodes, match="验证码错误次数过多"):
        check(wrong(code))
    with pytest.raises(codes.NoValidCode):
        check(code)


def test_a_code_is_good_for_ten_minutes_and_not_a_second_more(db, smtp, frozen_clock):
    send()
    code = smtp.last_code(EMAIL)
    frozen_clock.advance(599)
    with pytest.raises(codes.WrongCode):  # still live: a wrong code is counted, not "expired"
        check(wrong(code))
    frozen_clock.advance(1)
    with pytest.raises(codes.NoValidCode, match="验证码无效或已过期"):
        check(code)


def test_a_code_is_for_its_own_purpose_and_address_only(db, smtp):
    send()
    code = smtp.last_code(EMAIL)
    with pytest.raises(codes.NoValidCode):
        check(code, purpose="register_workspace")
    with pytest.raises(codes.NoValidCode):
        check(code, identifier="bob@example.com")
    check(code)


def test_no_code_requested_reads_like_an_expired_one(db):
    with pytest.raises(codes.NoValidCode):
        check("123456")


# ---- Resending ----


def test_a_resend_waits_for_the_cooldown_and_says_how_long(db, smtp, frozen_clock):
    send()
    frozen_clock.advance(15)
    with pytest.raises(codes.CooldownActive) as refusal:
        send()
    assert refusal.value.retry_after == 45
    assert str(refusal.value.message) == "请在 45 秒后重新获取验证码"
    frozen_clock.advance(45)
    send()
    assert len(smtp.messages(EMAIL)) == 2


def test_the_cooldown_belongs_to_the_address_whatever_the_purpose(db, smtp, frozen_clock):
    send(purpose="register")
    with pytest.raises(codes.CooldownActive):
        send(purpose="register_workspace")


def test_an_address_gets_at_most_five_codes_an_hour(db, smtp, frozen_clock):
    for _ in range(5):
        send()
        frozen_clock.advance(60)
    with pytest.raises(codes.HourlyLimitReached) as refusal:
        send()
    assert refusal.value.retry_after == 3600 - 300
    assert str(refusal.value.message) == "获取验证码次数过多，请 55 分钟后再试"
    frozen_clock.advance(3600 - 300)
    send()
    assert len(smtp.messages(EMAIL)) == 6


def test_a_new_code_voids_the_previous_one(db, smtp, frozen_clock):
    send()
    first = smtp.last_code(EMAIL)
    frozen_clock.advance(60)
    send()
    second = smtp.last_code(EMAIL)
    assert rows()[0].voided_at is not None
    if first != second:
        with pytest.raises(codes.WrongCode):  # the old code is now just a wrong one
            check(first)
    check(second)


def wrong_tries(smtp, count: int) -> None:
    """Type `count` wrong codes against the newest code mailed to EMAIL."""
    for _ in range(count):
        with pytest.raises(codes.CodeRejected):
            check(wrong(smtp.last_code(EMAIL)))


def tries_left_after_a_wrong_one(smtp) -> int:
    with pytest.raises(codes.WrongCode) as refusal:
        check(wrong(smtp.last_code(EMAIL)))
    return refusal.value.remaining


@pytest.mark.parametrize(
    "wrong_before, wait, left",
    [
        (3, 60, 1),  # a resend keeps the wrong tries of the code it replaces
        (5, 60, 4),  # after a lockout the next code starts with all its tries
        (1, 600, 4),  # so does the code after one that expired
    ],
)
def test_wrong_tries_carry_over_to_a_new_code_only_from_a_live_one(db, smtp, frozen_clock, wrong_before, wait, left):
    send()
    wrong_tries(smtp, wrong_before)
    frozen_clock.advance(wait)
    send()
    assert tries_left_after_a_wrong_one(smtp) == left


def test_a_resent_code_dies_with_the_tries_it_took_over(db, smtp, frozen_clock):
    send()
    wrong_tries(smtp, 4)
    frozen_clock.advance(60)
    send()
    with pytest.raises(codes.TooManyWrongCodes):
        check(wrong(smtp.last_code(EMAIL)))
    with pytest.raises(codes.NoValidCode):
        check(smtp.last_code(EMAIL))


# ---- Existence is never revealed ----


def known_and_unknown(db, purpose):
    if purpose == "bind_billing":
        db.session.add(BillingAccount(username="acme_billing", email="Billing@Acme.example", password_hash="x"))
        db.session.commit()
        return "acme_billing", "nobody_billing", "billing@acme.example"
    db.session.add(GuanceAccount(site="cn1", username="acme", email="owner@acme.example", password_hash="x"))
    db.session.commit()
    return "Owner@Acme.example", "nobody@acme.example", "owner@acme.example"


def comparable(row: VerificationCode) -> tuple:
    return (row.purpose, row.attempts, row.sent_at, row.expires_at, row.delivered_at, row.consumed_at, row.voided_at)


def refusal_of(work) -> tuple:
    with pytest.raises(codes.CodeError) as refusal:
        work()
    return type(refusal.value).__name__, str(refusal.value.message), refusal.value.retry_after


@pytest.mark.parametrize("purpose", ["bind_billing", "create_workspace"])
def test_an_unknown_account_goes_through_every_step_but_the_mail(db, smtp, frozen_clock, purpose):
    known, unknown, address = known_and_unknown(db, purpose)
    answers = [send(identifier, purpose) for identifier in (known, unknown)]
    assert [(str(a.message), a.retry_after) for a in answers] == [(str(answers[0].message), 60)] * 2
    assert [m.to.lower() for m in smtp.messages()] == [address]  # to the address as the account has it
    code = smtp.last_code(address)
    guess = "000000" if code != "000000" else "111111"
    frozen_clock.advance(10)
    for attempt in (lambda i: send(i, purpose), lambda i: check(guess, i, purpose)):
        assert refusal_of(partial(attempt, known)) == refusal_of(partial(attempt, unknown))
    known_row, unknown_row = (rows(codes.key_for(purpose, i))[0] for i in (known, unknown))
    assert comparable(known_row) == comparable(unknown_row)
    check(code, known, purpose)


def test_billing_usernames_are_case_insensitive(db, smtp):
    """The page lower-cases what is typed, the JSON endpoint may not: both must reach one key."""
    db.session.add(BillingAccount(username="acme", email="acme@acme.example", password_hash="x"))
    db.session.commit()
    send(" ACME ", "bind_billing")
    check(smtp.last_code("acme@acme.example"), "acme", "bind_billing")


# ---- SMTP down, slow, back: the mail waits in the queue; the queue down ----


def test_smtp_down_the_request_answers_at_once_and_the_code_arrives_when_it_is_back(database, smtp_server, tmp_path):
    port = free_port()
    with app_with(database, smtp_server, MAIL_PORT=port) as app:
        sent = send()
        assert str(sent.message) == "验证码已发送，请查收邮件" and sent.retry_after == 60
        assert [row.delivery for row in rows()] == ["queued"]  # its retry waits in the schedule
        sink = start_sink(tmp_path / "mail", port=port)
        try:
            assert run_scheduled(app) == 1
        finally:
            sink.stop()
        received = read_messages(tmp_path / "mail")
        assert [message.to for message in received] == [EMAIL]
        assert [row.delivery for row in rows()] == ["sent"]
        check(codes_in(received[0].text))
        assert db_rows(FailedTask) == []  # the retry worked: no failure left on record


def test_a_code_whose_mail_finally_failed_is_shown_as_such_when_the_customer_asks_again(
    database, smtp_server, frozen_clock
):
    with app_with(database, smtp_server, MAIL_PORT=free_port(), QUEUE_RETRIES=0) as app:
        send()
        (failed,) = rows()
        assert failed.delivery == "failed" and failed.delivered_at is None
        (record,) = db_rows(FailedTask)
        assert (record.name, record.args, record.status, record.attempts) == ("deliver_code", [failed.id], "failed", 1)
        assert record.error.startswith("ConnectionRefusedError")
        frozen_clock.advance(60)
        app.extensions["mail"].port = smtp_server.port  # the server is back
        assert str(send().message) == "上一个验证码未能送达。验证码已发送，请查收邮件"
        check(smtp_server.last_code(EMAIL))
        frozen_clock.advance(60)
        assert str(send().message) == "验证码已发送，请查收邮件"  # the previous one arrived


def test_failed_deliveries_count_for_the_hourly_cap(database, smtp_server, frozen_clock):
    """Refunding them would let whoever makes mail fail ask without end; counting them takes no one's sends."""
    with app_with(database, smtp_server, MAIL_PORT=free_port(), QUEUE_RETRIES=0):
        for _ in range(5):
            send()
            frozen_clock.advance(60)
        assert {row.delivery for row in rows()} == {"failed"}
        with pytest.raises(codes.HourlyLimitReached) as refusal:
            send()
        assert str(refusal.value.message) == "上一个验证码未能送达。获取验证码次数过多，请 55 分钟后再试"


def test_a_failed_resend_leaves_the_previous_code_working(database, smtp_server, frozen_clock):
    with app_with(database, smtp_server, QUEUE_RETRIES=0) as app:
        send()
        code = smtp_server.last_code(EMAIL)
        with pytest.raises(codes.WrongCode):
            check(wrong(code))
        frozen_clock.advance(60)
        app.extensions["mail"].port = free_port()  # the SMTP server goes away
        send()
        assert [row.delivery for row in rows()] == ["sent", "failed"]
        with pytest.raises(codes.WrongCode) as refusal:
            check(wrong(code))
        assert refusal.value.remaining == 3
        check(code)


def test_smtp_down_reads_the_same_for_an_unknown_account(database, smtp_server, frozen_clock):
    """Without a recipient the worker still talks to the SMTP server, so an outage fails both alike."""
    with app_with(database, smtp_server, MAIL_PORT=free_port(), QUEUE_RETRIES=0) as app:
        _db.session.add(BillingAccount(username="acme_billing", email="billing@acme.example", password_hash="x"))
        _db.session.commit()
        for username in ("acme_billing", "nobody_billing"):
            send(username, "bind_billing")
        frozen_clock.advance(60)
        app.extensions["mail"].port = smtp_server.port
        answers = {str(send(username, "bind_billing").message) for username in ("acme_billing", "nobody_billing")}
        assert answers == {"上一个验证码未能送达。若该账号存在，验证码已发送至其绑定邮箱，请查收"}


def test_a_silent_smtp_server_does_not_hold_up_the_request(database, smtp_server, silent_smtp_port, tmp_path):
    queue = {"QUEUE_IMMEDIATE": False, "QUEUE_SQLITE_PATH": str(tmp_path / "queue.db")}
    with app_with(database, smtp_server, MAIL_PORT=silent_smtp_port, MAIL_TIMEOUT=0.5, **queue) as app:
        started = time.monotonic()
        send()
        send("nobody_billing", "bind_billing")
        assert time.monotonic() - started < 0.5  # the request never waited on the SMTP server
        huey = queue_of(app).huey
        assert huey.pending_count() == 2
        for _ in range(2):  # the worker's turn: each times out and is scheduled for a retry
            huey.execute(huey.dequeue())
        assert (huey.pending_count(), huey.scheduled_count()) == (0, 2)
        failures = {(record.status, record.error.split(":")[0]) for record in db_rows(FailedTask)}
        assert failures == {("retrying", "SMTPServerDisconnected")}
        assert {row.delivery for row in rows()} == {"queued"}


@pytest.mark.parametrize("identifier, purpose", [(EMAIL, "register"), ("nobody_billing", "bind_billing")])
def test_the_queue_down_gives_the_message_and_writes_nothing(database, smtp_server, identifier, purpose):
    with app_with(database, smtp_server, QUEUE_IMMEDIATE=False, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        with pytest.raises(codes.DeliveryFailed) as refusal:
            send(identifier, purpose)
        assert str(refusal.value.message) == "验证码发送失败，请稍后重试"
        assert refusal.value.retry_after is None
        assert rows(codes.key_for(purpose, identifier)) == []  # not counted: no cooldown, no cap


def test_delivering_a_code_twice_mails_it_once(db, smtp):
    send()
    (row,) = rows()
    codes.deliver(row.id)
    assert len(smtp.messages(EMAIL)) == 1


def test_a_code_that_expired_while_its_mail_waited_is_not_sent_late(database, smtp, frozen_clock):
    with app_with(database, smtp, MAIL_PORT=free_port()) as app:
        send()
        frozen_clock.advance(600)
        app.extensions["mail"].port = smtp.port
        run_scheduled(app)
        assert smtp.messages(EMAIL) == []
        assert [row.delivery for row in rows()] == ["failed"]


# ---- Storage ----


def test_the_database_holds_no_plaintext_code(app, db, smtp, frozen_clock):
    db.session.add(BillingAccount(username="acme_billing", email="billing@acme.example", password_hash="x"))
    db.session.commit()
    send()
    frozen_clock.advance(60)
    send()
    send("acme_billing", "bind_billing")
    send("bob@example.com", "register_workspace")
    check(smtp.last_code(EMAIL))
    sent = {
        smtp.last_code(EMAIL),
        smtp.last_code("billing@acme.example"),
        smtp.last_code("bob@example.com"),
    }
    sent |= {codes_in(message.text) for message in smtp.messages(EMAIL)}
    cells = [
        str(value) for table in db.metadata.sorted_tables for row in db.session.execute(table.select()) for value in row
    ]
    assert any(EMAIL in cell for cell in cells)  # the search does find what is stored
    assert len(sent) >= 3
    for code in sent:
        assert not any(code in cell for cell in cells), code


def codes_in(text: str) -> str:
    from devtools.smtp import CODE

    return CODE.search(text).group(1)


def test_the_code_is_keyed_and_bound_to_purpose_key_and_seed(app, db):
    seeds = [codes.new_seed() for _ in range(50)]

    def codes_of(key=EMAIL, purpose="register"):
        return [codes.code_for(key, purpose, seed) for seed in seeds]

    mine = codes_of()
    assert all(len(code) == 6 and code.isdigit() for code in mine)
    assert len(set(mine)) > 45  # each seed its own code
    for other in (codes_of(purpose="register_workspace"), codes_of(key="bob@example.com")):
        assert sum(a != b for a, b in zip(mine, other, strict=True)) > 45
    app.config["SECRET_KEY"] = "another secret"
    assert sum(a != b for a, b in zip(mine, codes_of(), strict=True)) > 45


def test_prune_deletes_only_the_codes_no_rule_looks_at(app, db, smtp, frozen_clock):
    send()
    frozen_clock.advance(3600)
    send("bob@example.com")
    frozen_clock.advance(1)
    result = app.test_cli_runner().invoke(args=["codes", "prune"])
    assert result.stdout.strip() == "Deleted 1 verification codes."  # (log lines go to stderr)
    assert rows() == [] and len(rows("bob@example.com")) == 1


def test_the_limits_are_settings_read_from_the_environment():
    settings = config.load(environ={"CODE_RESEND_SECONDS": "30", "CODE_SENDS_PER_IP_PER_HOUR": "100"})
    assert (settings["CODE_RESEND_SECONDS"], settings["CODE_SENDS_PER_IP_PER_HOUR"]) == (30, 100)
    assert (settings["CODE_TTL_SECONDS"], settings["CODE_MAX_ATTEMPTS"], settings["CODE_SENDS_PER_KEY_PER_HOUR"]) == (
        600,
        5,
        5,
    )


# ---- Concurrency ----


@BOTH_DATABASES
def test_two_verifications_of_one_code_at_once_give_exactly_one_success(app, db, smtp, monkeypatch):
    send()
    code = smtp.last_code(EMAIL)
    both_found_it = threading.Barrier(2, timeout=10)
    real_matches = codes._matches

    def matches_then_wait(stored_hash, typed_hash):
        # Both requests have read the live code and compared before either of them uses it.
        result = real_matches(stored_hash, typed_hash)
        both_found_it.wait()
        return result

    monkeypatch.setattr(codes, "_matches", matches_then_wait)
    outcomes = in_threads(app, lambda: check(code))
    assert sorted(outcomes) == ["NoValidCode", "ok"]


@BOTH_DATABASES
def test_concurrent_wrong_codes_are_all_counted(app, db, smtp):
    send()
    code = smtp.last_code(EMAIL)
    outcomes = in_threads(app, lambda: check(wrong(code)), count=5)
    assert sorted(outcomes) == ["TooManyWrongCodes"] + ["WrongCode"] * 4
    with pytest.raises(codes.NoValidCode):
        check(code)


@BOTH_DATABASES
def test_a_send_in_flight_holds_the_cooldown_and_no_database_lock(app, db, smtp, monkeypatch):
    in_smtp, release = threading.Event(), threading.Event()
    real_send_email = notices.send_email

    def slow_send_email(subject, recipients, text, html):
        if recipients == [EMAIL]:
            in_smtp.set()
            release.wait(10)
        real_send_email(subject, recipients, text, html)

    monkeypatch.setattr(notices, "send_email", slow_send_email)
    first = threading.Thread(target=in_threads, args=(app, send, 1))
    first.start()
    try:
        assert in_smtp.wait(10)
        send("bob@example.com")  # another address is served while the first mail is on its way
        with pytest.raises(codes.CooldownActive) as refusal:
            send()
        assert refusal.value.retry_after == 60
    finally:
        release.set()
        first.join(timeout=30)
    assert len(smtp.messages(EMAIL)) == 1
    check(smtp.last_code(EMAIL))


@BOTH_DATABASES
def test_the_database_allows_one_send_in_flight_per_key(db):
    def undelivered(purpose):
        moment = codes.clock.now()
        return VerificationCode(
            recipient_key=EMAIL, purpose=purpose, seed="x" * 32, language="zh", sent_at=moment, expires_at=moment
        )

    db.session.add(undelivered("register"))
    db.session.commit()
    db.session.add(undelivered("register_workspace"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_send_still_queued_after_the_cooldown_gives_way_to_a_new_one(db, smtp, frozen_clock):
    moment = frozen_clock.now()
    db.session.add(  # queued, and its task lost (a worker killed, Redis restarted)
        VerificationCode(
            recipient_key=EMAIL, purpose="register", seed="x" * 32, language="zh", sent_at=moment, expires_at=moment
        )
    )
    db.session.commit()
    with pytest.raises(codes.CooldownActive):
        send()
    frozen_clock.advance(60)
    send()
    abandoned, fresh = rows()
    assert abandoned.voided_at is not None and fresh.delivered_at is not None
    check(smtp.last_code(EMAIL))
