"""The task queue in-process: which storage, retries with backoff, failures on record, notices, periodic jobs.

A real worker process is in tests/test_worker.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import select

from devtools.ports import free_port
from wizard import clock, config, tasks
from wizard.extensions import db as _db
from wizard.models import EmailNotice, FailedTask, RegistrationDraft, SsoNonce, VerificationCode
from wizard.services import codes, failed_tasks, notices, sso

from .conftest import app_with
from .queue_support import break_queue, queue_of, run_scheduled

EMAIL = "alice@example.com"


def all_rows(model) -> list:
    _db.session.expire_all()
    return _db.session.scalars(select(model).order_by(model.id)).all()


def cli(app, *args) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def status_of(app) -> dict[str, int]:
    return {line.split()[0]: int(line.split()[1]) for line in cli(app, "queue", "status").splitlines()}


# ---- Which queue ----


def test_each_application_gets_the_queue_its_settings_name(database, smtp, tmp_path, redis_url):
    with app_with(database, smtp) as app:  # testing: tasks run where they are queued
        assert queue_of(app).huey.immediate and isinstance(queue_of(app).huey.storage, MemoryStorage)
    with app_with(database, smtp, QUEUE_IMMEDIATE=False, QUEUE_SQLITE_PATH=str(tmp_path / "q" / "queue.db")) as app:
        storage = queue_of(app).huey.storage
        assert isinstance(storage, SqliteStorage) and storage.filename == str(tmp_path / "q" / "queue.db")
    with app_with(database, smtp, QUEUE_IMMEDIATE=False, REDIS_URL=redis_url) as app:
        assert isinstance(queue_of(app).huey.storage, RedisStorage)
    with app_with(database, smtp) as app:
        result = app.test_cli_runner().invoke(args=["queue", "worker"])
        assert result.exit_code != 0 and "QUEUE_IMMEDIATE is on" in result.output


def test_the_default_retries_outlast_a_five_minute_smtp_outage_and_end_within_a_codes_life():
    settings = config.load(environ={})
    delay, backoff = settings["QUEUE_RETRY_DELAY_SECONDS"], settings["QUEUE_RETRY_BACKOFF"]
    attempts_at = [sum(delay * backoff**n for n in range(retry)) for retry in range(settings["QUEUE_RETRIES"] + 1)]
    back_at = 300  # the server answers again five minutes after the first attempt failed
    next_attempt = next(moment for moment in attempts_at if moment >= back_at)
    assert next_attempt - back_at < 60  # the code follows within a minute of the server's return
    assert attempts_at[-1] < settings["CODE_TTL_SECONDS"]  # and no retry mails a code already expired


# ---- flask queue status, on both storages ----


@pytest.mark.parametrize("storage", ["sqlite", "redis"])
def test_flask_queue_status_counts_waiting_scheduled_retrying_and_failed_tasks(
    database, smtp, tmp_path, request, storage
):
    queue = (
        {"QUEUE_SQLITE_PATH": str(tmp_path / "queue.db")}
        if storage == "sqlite"
        else {"REDIS_URL": request.getfixturevalue("redis_url")}
    )
    with app_with(database, smtp, QUEUE_IMMEDIATE=False, MAIL_PORT=free_port(), QUEUE_RETRIES=1, **queue) as app:
        huey = queue_of(app).huey
        for address in ("a@example.com", "b@example.com", "c@example.com"):
            codes.request_code("register", address, "zh")
        assert status_of(app) == {"waiting": 3, "scheduled": 0, "retrying": 0, "failed": 0}
        huey.execute(huey.dequeue())  # the worker's turn, with the SMTP server down: a retry is scheduled
        assert status_of(app) == {"waiting": 2, "scheduled": 1, "retrying": 1, "failed": 0}
        run_scheduled(app)  # the retry fails too, and was the last one
        assert status_of(app) == {"waiting": 2, "scheduled": 0, "retrying": 0, "failed": 1}


# ---- Retries with backoff, then on record, then retried by id ----


def test_a_task_that_raises_is_retried_with_backoff_then_recorded_as_failed_and_retried_by_id(database, smtp):
    settings = {"MAIL_PORT": free_port(), "QUEUE_RETRIES": 2, "QUEUE_RETRY_DELAY_SECONDS": 10, "QUEUE_RETRY_BACKOFF": 3}
    with app_with(database, smtp, **settings) as app:
        huey = queue_of(app).huey
        codes.request_code("register", EMAIL, "zh")
        (code,) = all_rows(VerificationCode)
        waits = []
        for attempts in (1, 2):
            (record,) = all_rows(FailedTask)
            assert (record.name, record.args, record.status, record.attempts) == (
                "deliver_code",
                [code.id],
                "retrying",
                attempts,
            )
            assert record.error.startswith("ConnectionRefusedError: ")
            (retry,) = huey.scheduled()
            waits.append((retry.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds())
            run_scheduled(app)
        assert 8 < waits[0] <= 10 and 28 < waits[1] <= 30  # 10 s, then 10 x 3
        (record,) = all_rows(FailedTask)
        assert (record.status, record.attempts) == ("failed", 3)
        assert record.first_failed_at <= record.last_failed_at
        assert [row.delivery for row in all_rows(VerificationCode)] == ["failed"]
        assert smtp.messages() == []

        app.extensions["mail"].port = smtp.port  # the server is back; an operator retries the task
        assert cli(app, "queue", "failed").startswith(f"{record.id}\tdeliver_code({code.id},)\t3 attempts")
        assert cli(app, "queue", "retry", str(record.id)) == f"Queued deliver_code({code.id},) again.\n"
        assert all_rows(FailedTask) == []
        assert [row.delivery for row in all_rows(VerificationCode)] == ["sent"]
        codes.verify_code("register", EMAIL, smtp.last_code(EMAIL))


def test_only_a_failed_task_can_be_retried(app, db, smtp):
    """From the command line, outside any request: the refusal is the operator's message."""
    app.extensions["mail"].port = free_port()
    with app.test_request_context():
        codes.request_code("register", EMAIL, "zh")  # fails once: retrying
    (record,) = all_rows(FailedTask)
    for failed_id, message in ((record.id, "该任务仍在自动重试中。"), (record.id + 1, "找不到该失败任务。")):
        result = app.test_cli_runner().invoke(args=["queue", "retry", str(failed_id)])
        assert result.exit_code == 1 and f"Error: {message}" in result.output


# ---- Email notices ----


def notice(**values) -> int:
    return notices.send_notice("verification_code", "ops@corp.example", "en", code="123456", purpose="测试", **values)


def test_a_notice_is_queued_when_its_transaction_commits_and_mailed_once(database, smtp):
    with app_with(database, smtp) as app:
        notice_id = notice(minutes=10)
        assert smtp.messages() == [] and status_of(app)["failed"] == 0  # not before the commit
        _db.session.commit()
        (message,) = smtp.messages("ops@corp.example")
        assert message.subject == "Guance verification code: 测试"
        assert "123456" in message.text and "Valid for 10 minutes" in message.text
        notices.deliver(notice_id)  # the task run a second time
        assert len(smtp.messages()) == 1
        assert [(row.delivery, row.delivered_at is not None) for row in all_rows(EmailNotice)] == [("sent", True)]


def test_a_rolled_back_notice_is_never_sent(database, smtp):
    with app_with(database, smtp):
        notice(minutes=10)
        _db.session.rollback()
        _db.session.commit()  # a later transaction of the same session does not send it either
        assert smtp.messages() == [] and all_rows(EmailNotice) == []


def test_a_notice_the_queue_could_not_take_is_recorded_and_can_be_retried(database, smtp):
    with app_with(database, smtp) as app:
        working = queue_of(app)
        break_queue(app)
        notice_id = notice(minutes=10)
        _db.session.commit()
        (record,) = all_rows(FailedTask)
        assert (record.task_id, record.name, record.args, record.status) == (
            None,
            "deliver_notice",
            [notice_id],
            "failed",
        )
        assert record.error.startswith("QueueUnavailable: ConnectionError")
        app.extensions["queue"] = working  # the queue is back
        cli(app, "queue", "retry", str(record.id))
        assert len(smtp.messages("ops@corp.example")) == 1 and all_rows(FailedTask) == []


def test_a_notice_whose_retries_ran_out_is_marked_failed(database, smtp):
    with app_with(database, smtp, MAIL_PORT=free_port(), QUEUE_RETRIES=0):
        notice(minutes=10)
        _db.session.commit()
        assert [row.delivery for row in all_rows(EmailNotice)] == ["failed"]
        assert [row.status for row in all_rows(FailedTask)] == ["failed"]


# ---- Periodic jobs ----


def test_the_periodic_jobs_are_scheduled_and_listed(database, smtp):
    with app_with(database, smtp) as app:
        huey = queue_of(app).huey

        def due(minute: int) -> set[str]:
            return {type(task).__name__ for task in huey.read_periodic(datetime(2026, 11, 26, 8, minute))}

        every_minute, every_5_minutes = {"push_metering", "retry_webhooks"}, {"lifecycle"}
        assert due(5) == {"prune_codes"} | every_minute | every_5_minutes
        assert due(10) == {"prune_login_free_tokens"} | every_minute | every_5_minutes
        assert due(15) == {"prune_registration_drafts"} | every_minute | every_5_minutes
        assert due(7) == every_minute
        listed = cli(app, "queue", "jobs")
        assert [line.split()[0] for line in listed.splitlines()] == list(tasks.PERIODIC_JOBS)


def test_each_periodic_job_runs_by_hand(database, smtp):
    with app_with(database, smtp) as app:
        now = clock.now()
        _db.session.add_all(
            [
                SsoNonce(token="old", expires_at=now - timedelta(seconds=1)),
                SsoNonce(token="live", expires_at=now + timedelta(minutes=5)),
                draft("old", now - timedelta(seconds=1)),
                draft("live", now + timedelta(minutes=5)),
            ]
        )
        _db.session.commit()
        assert cli(app, "queue", "run", "prune_login_free_tokens") == "Deleted 1 used login-free tokens.\n"
        assert cli(app, "queue", "run", "prune_registration_drafts") == "Deleted 1 registration drafts.\n"
        assert cli(app, "queue", "run", "prune_codes") == "Deleted 0 verification codes.\n"
        assert [row.token for row in _db.session.scalars(select(SsoNonce))] == ["live"]
        assert [row.id for row in _db.session.scalars(select(RegistrationDraft))] == ["live"]
        result = app.test_cli_runner().invoke(args=["queue", "run", "nothing_like_it"])
        assert result.exit_code == 2 or "no periodic job" in result.output


def draft(draft_id: str, expires_at) -> RegistrationDraft:
    return RegistrationDraft(
        id=draft_id,
        ali_uid="1380000000000001",
        site="cn1",
        username=draft_id,
        email=f"{draft_id}@example.com",
        phone="13800138000",
        password_hash="x",
        created_at=expires_at - timedelta(hours=1),
        expires_at=expires_at,
    )


def test_a_failing_periodic_job_is_on_record_until_it_runs_well_again(database, smtp, monkeypatch):
    with app_with(database, smtp) as app:
        huey = queue_of(app).huey
        (job,) = [
            job for job in huey.read_periodic(datetime(2026, 11, 26, 8, 10)) if job.name == "prune_login_free_tokens"
        ]

        def broken() -> int:
            raise RuntimeError("disk full")

        monkeypatch.setattr(sso, "prune_tokens", broken)
        huey.execute(job)
        (record,) = all_rows(FailedTask)
        assert (record.name, record.status, record.error) == (
            "prune_login_free_tokens",
            "failed",
            "RuntimeError: disk full",
        )
        result = app.test_cli_runner().invoke(args=["queue", "retry", str(record.id)])
        assert result.exit_code == 1 and "周期任务会按计划再次运行" in result.output
        monkeypatch.undo()
        huey.execute(job)
        assert all_rows(FailedTask) == []
        assert failed_tasks.counts() == {"retrying": 0, "failed": 0}
