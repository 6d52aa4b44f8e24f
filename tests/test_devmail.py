"""A real SMTP message, sent by Flask-Mail, lands in the development mailbox."""

import smtplib

import pytest
from flask_mail import Message

from wizard import create_app
from wizard.extensions import mail

from .conftest import settings_for_tests


def send(app, to, subject, body):
    with app.app_context():
        mail.send(Message(subject=subject, recipients=[to], body=body))


def test_a_sent_message_is_listed_with_recipient_subject_time_and_body(app, browser, smtp):
    send(app, "qa@example.com", "您的验证码", "验证码：123456，10 分钟内有效。")
    page = browser.get("/dev/mail/")
    assert "qa@example.com" in page.text
    assert "您的验证码" in page.text
    assert "验证码：123456，10 分钟内有效。" in page.text
    assert page.find("time[datetime]") is not None


def test_newest_message_comes_first_and_the_filter_keeps_one_recipient(app, browser, smtp):
    send(app, "first@example.com", "first", "one")
    send(app, "second@example.com", "second", "two")
    page = browser.get("/dev/mail/").text
    assert page.index("second@example.com") < page.index("first@example.com")
    filtered = browser.get("/dev/mail/?to=first@example.com").text
    assert "first@example.com" in filtered and "second@example.com" not in filtered


def test_the_mailbox_can_be_emptied_by_post(app, browser, smtp):
    send(app, "qa@example.com", "subject", "body")
    browser.submit("/dev/mail/", action="/dev/mail/clear")
    assert smtp.messages() == []


def test_the_mailbox_does_not_exist_in_production(database, smtp_server):
    app = create_app(
        settings_for_tests(
            database,
            smtp_server,
            APP_ENV="production",
            SECRET_KEY="s" * 32,
            ISV_KEY="k" * 16,
            PUBLIC_BASE_URL="https://console.guance.example",
        )  # fmt: skip
    )
    assert app.test_client().get("/dev/mail/").status_code == 404


def test_a_silent_smtp_server_raises_a_timeout_instead_of_hanging(database, smtp_server, silent_smtp_port):
    app = create_app(settings_for_tests(database, smtp_server, MAIL_PORT=silent_smtp_port, MAIL_TIMEOUT=0.5))
    with pytest.raises((OSError, smtplib.SMTPException), match="timed out"):
        send(app, "qa@example.com", "subject", "body")
