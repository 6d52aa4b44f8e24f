"""A real worker process (`flask queue worker`) against the application's queue: the faults it must survive.

Each test starts its own worker and stops it by pid. Retries are shortened (0.2 s, doubling) so
a test waits seconds, not minutes; what is asserted is what arrives, and how often.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from sqlalchemy import select

from bench.browser import Browser
from bench.customers import Customer
from bench.flows import Marketplace, bind_existing
from bench.mail import Inbox
from bench.servers import Gunicorn, Secrets, ServerShape, prepare_database, product_env
from wizard import create_app
from wizard.extensions import db as _db
from wizard.extensions import one_transaction
from wizard.models import FailedTask, VerificationCode
from wizard.services import codes

from .conftest import settings_for_tests
from .queue_support import Worker, wait_for, worker_environment

FAST_RETRIES = {"QUEUE_RETRIES": 2, "QUEUE_RETRY_DELAY_SECONDS": 0.2, "QUEUE_RETRY_BACKOFF": 2}


class Setup:
    """The application (tasks queued, not run) and a worker process on the same queue, database and SMTP."""

    def __init__(self, database: str, smtp, directory, queue: dict[str, str], **settings) -> None:
        self.smtp = smtp
        # The retry policy travels with each task: the side that queues it decides.
        settings = {**FAST_RETRIES, **settings}
        self.app = create_app(settings_for_tests(database, smtp, QUEUE_IMMEDIATE=False, **queue, **settings))
        environ = worker_environment(database, smtp.port, queue, **settings)
        self.worker = Worker(environ, directory / "worker.log")

    def send(self, identifier: str, purpose: str = "register") -> str:
        """获取验证码: the answer's message, whether sent or refused."""
        with self.app.test_request_context(), one_transaction():  # as the page's view runs it
            try:
                return str(codes.request_code(purpose, identifier, "zh").message)
            except codes.SendRefused as refusal:
                return str(refusal.message)

    def check(self, code: str, identifier: str, purpose: str = "register") -> None:
        with self.app.test_request_context(), one_transaction():  # the code used up when the view's unit commits
            codes.verify_code(purpose, identifier, code)

    def rows(self, model=VerificationCode) -> list:
        with self.app.app_context():
            rows = _db.session.scalars(select(model).order_by(model.id)).all()
            _db.session.expunge_all()
            return rows

    def deliveries(self) -> list[str]:
        return [row.delivery for row in self.rows()]

    def status(self) -> dict[str, int]:
        output = self.app.test_cli_runner().invoke(args=["queue", "status"]).stdout
        return {line.split()[0]: int(line.split()[1]) for line in output.splitlines()}

    def wait(self, condition, what: str, timeout: float = 20.0):
        try:
            return wait_for(condition, timeout=timeout, what=what)
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- worker log ---\n{self.worker.output()[-4000:]}") from None

    def close(self) -> None:
        self.worker.stop()
        with self.app.app_context():
            _db.engine.dispose()


@pytest.fixture
def sqlite_queue(database, smtp, tmp_path):
    setup = Setup(database, smtp, tmp_path, {"QUEUE_SQLITE_PATH": str(tmp_path / "queue.db")})
    yield setup
    setup.close()


def test_codes_wait_while_the_worker_is_stopped_then_each_arrives_once(sqlite_queue, smtp):
    setup = sqlite_queue
    with setup.app.app_context():
        from tests.activation import add_billing_account

        add_billing_account()  # acme_billing, billing@acme.example
    for identifier, purpose in (
        ("alice@example.com", "register"),
        ("acme_billing", "bind_billing"),
        ("nobody_billing", "bind_billing"),  # no such account: the same answer, no mail
    ):
        assert "验证码已发送" in setup.send(identifier, purpose)
    assert setup.status() == {"waiting": 3, "scheduled": 0, "retrying": 0, "failed": 0}
    assert smtp.messages() == [] and setup.deliveries() == ["queued"] * 3

    setup.worker.start()
    setup.wait(lambda: setup.deliveries() == ["sent"] * 3, "the worker to deliver the three codes")
    assert sorted(message.to for message in smtp.messages()) == ["alice@example.com", "billing@acme.example"]
    assert setup.status() == {"waiting": 0, "scheduled": 0, "retrying": 0, "failed": 0}
    setup.check(smtp.last_code("alice@example.com"), "alice@example.com")
    setup.check(smtp.last_code("billing@acme.example"), "acme_billing", "bind_billing")


def test_smtp_answering_4xx_is_retried_with_backoff_and_the_code_is_delivered_once(sqlite_queue, smtp):
    setup = sqlite_queue
    smtp.refuse(2)  # 451 twice; the second retry (the third attempt) is accepted
    setup.worker.start()
    setup.send("alice@example.com")
    setup.wait(lambda: setup.deliveries() == ["sent"], "the code to be delivered after two 451s")
    assert smtp.refused == 2 and len(smtp.messages("alice@example.com")) == 1
    assert setup.rows(FailedTask) == []  # the failures of a task that finally worked are not kept
    setup.check(smtp.last_code("alice@example.com"), "alice@example.com")


def test_a_task_that_keeps_raising_is_recorded_as_failed_with_its_error_then_retried_by_id(sqlite_queue, smtp):
    setup = sqlite_queue
    smtp.refuse(1000)
    setup.worker.start()
    setup.send("alice@example.com")
    (record,) = setup.wait(
        lambda: [row for row in setup.rows(FailedTask) if row.status == "failed"], "the task to be given up"
    )
    assert (record.name, record.attempts) == ("deliver_code", 3)  # the first try and two retries
    assert record.error.startswith("SMTPDataError: (451, b'4.3.0 Mailbox busy, try again later')")
    # The give-up hook marks the code's delivery failed just after the task is recorded as failed.
    setup.wait(lambda: setup.deliveries() == ["failed"], "the delivery marked failed")
    assert smtp.messages() == []
    assert setup.status()["failed"] == 1

    smtp.refuse(0)  # the server accepts mail again; an operator retries the task
    result = setup.app.test_cli_runner().invoke(args=["queue", "retry", str(record.id)])
    assert result.exit_code == 0, result.output
    setup.wait(lambda: setup.deliveries() == ["sent"], "the retried task to deliver the code")
    assert len(smtp.messages("alice@example.com")) == 1 and setup.rows(FailedTask) == []


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_redis_restarted_the_web_side_and_the_worker_carry_on_and_what_it_lost_is_asked_again(
    database, smtp, tmp_path, redis_server, redis_url
):
    """Redis here keeps nothing on disk: a restart loses the queued tasks, as Huey's Redis storage says."""
    setup = Setup(database, smtp, tmp_path, {"REDIS_URL": redis_url}, CODE_RESEND_SECONDS=1)
    try:
        setup.worker.start()
        setup.send("alice@example.com")
        setup.wait(lambda: setup.deliveries() == ["sent"], "a code delivered through Redis")

        redis_server.restart()  # the worker is waiting on Redis: it reconnects
        setup.send("bob@example.com")
        setup.wait(lambda: len(smtp.messages("bob@example.com")) == 1, "a code after the restart")

        setup.worker.stop()
        setup.send("carol@example.com")
        assert setup.status()["waiting"] == 1
        redis_server.restart()  # the queued task is lost with it
        assert setup.status()["waiting"] == 0
        setup.worker.start()
        assert setup.deliveries()[-1] == "queued"  # the row is all that is left of that send
        # The customer asks again after the cooldown: the lost send gives way, the new code arrives.
        setup.wait(lambda: "验证码已发送" in setup.send("carol@example.com"), "the cooldown to end", timeout=5)
        setup.wait(lambda: len(smtp.messages("carol@example.com")) == 1, "carol's new code")
        # The worker records the delivery just after the SMTP server took the mail: a loaded machine
        # can show the mail first (a person cannot type the code that fast).
        setup.wait(lambda: setup.deliveries()[-1] == "sent", "the delivery recorded")
        setup.check(smtp.last_code("carol@example.com"), "carol@example.com")
    finally:
        setup.close()


@pytest.mark.postgres
def test_two_web_instances_and_one_worker_on_postgresql_and_redis_activate_alternating_request_by_request(
    postgres, smtp, tmp_path, redis_url
):
    """Scale-out: each request of a whole bind activation goes to the other instance; the worker mails the code."""
    keys = Secrets.fresh()
    database = postgres.create_database("scale_out")
    prepare_database(database, keys, {"bind": 2, "create": 0, "register_workspace": 0, "register": 0})
    env = {**product_env(database, smtp.port, keys), "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url}
    with ExitStack() as stack:
        instances = []
        for _ in range(2):
            instance = Gunicorn("wsgi:app", env, ServerShape(workers=1, threads=4), tmp_path)
            instance.env = {**env, "SPI_URL": f"{instance.url}/spi"}
            stack.callback(instance.stop)
            instances.append(instance.start("/login/pwd"))
        worker = Worker(
            {**worker_environment(database, smtp.port, {"REDIS_URL": redis_url}), **env}, tmp_path / "w.log"
        )
        stack.callback(worker.stop)
        worker.start()
        market = Marketplace(keys.isv_key, Inbox(smtp, timeout=20.0))
        browser = stack.enter_context(_closing(Browser([instance.url for instance in instances])))
        failures = []
        for number in range(2):
            browser.forget()
            try:
                bind_existing(browser, Customer("bind", number), market)
            except AssertionError as failure:
                failures.append(f"{failure}\n{worker.output()[-2000:]}")
        assert failures == []
        routes = [sample.route for sample in browser.recorder.samples]
        assert routes.count("POST /codes/send") == 2 and len(routes) > 20  # each instance served half
    with create_app(settings_for_tests(database, smtp, REDIS_URL=redis_url)).app_context():
        assert {row.delivery for row in _db.session.scalars(select(VerificationCode))} == {"sent"}
        _db.engine.dispose()
    postgres.drop_database("scale_out")


class _closing:
    def __init__(self, browser: Browser) -> None:
        self.browser = browser

    def __enter__(self) -> Browser:
        return self.browser

    def __exit__(self, *_exc) -> None:
        self.browser.close()
