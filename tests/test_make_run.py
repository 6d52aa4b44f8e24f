"""`make run` as a newcomer runs it: both applications, the worker, the SMTP sink; a code delivered by the
worker; Ctrl-C stops every process honcho started, nothing is left running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from devtools.customer import Browser, Customer
from devtools.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
STARTED = re.compile(r"(\S+)\.1 started \(pid=(\d+)\)")


def wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "make run stopped on its own"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" not in status.read_text()


@pytest.fixture
def make_run(tmp_path):
    ports = {"PORT": free_port(), "MARKET_PORT": free_port(), "MAIL_PORT": free_port()}
    environ = {
        **os.environ,
        **{name: str(port) for name, port in ports.items()},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wizard.db'}",
        "MARKET_DATABASE_URL": f"sqlite:///{tmp_path / 'marketplace.db'}",
        "QUEUE_SQLITE_PATH": str(tmp_path / "queue.db"),
        "MARKET_QUEUE_SQLITE_PATH": str(tmp_path / "marketplace-queue.db"),
        "DEV_MAILBOX_DIR": str(tmp_path / "devmail"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    for name in ("MAIL_SERVER", "APP_ENV", "REDIS_URL"):
        environ.pop(name, None)
    log = (tmp_path / "make-run.log").open("w+")
    process = subprocess.Popen(["make", "run"], cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{ports['PORT']}/", process)
        wait_for(f"http://127.0.0.1:{ports['MARKET_PORT']}/", process)
        yield process, ports, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_make_run_serves_both_applications_delivers_codes_and_stops_on_ctrl_c(make_run, tmp_path):
    process, ports, log = make_run
    guance, market = f"http://127.0.0.1:{ports['PORT']}", f"http://127.0.0.1:{ports['MARKET_PORT']}"
    assert f'href="{market}/"' in httpx.get(f"{guance}/").text  # each front page links to the other
    assert f'href="{guance}/"' in httpx.get(f"{market}/").text
    assert httpx.get(f"{guance}/market/").status_code == 404

    customer = Customer(Browser.of(guance), market=Browser.of(market))
    customer.arrive("1380000000000002")  # bought in the simulator, 免登 across to the Guance side: G1
    assert customer.login_free_link.startswith(f"{guance}/spi?action=verify")
    customer.choose("bind")
    customer.send_code("demo_billing")  # as app.js does; the worker mails it
    deadline = time.monotonic() + 30
    while "billing@demo.guance.example" not in customer.browser.get("/dev/mail/").text:
        assert time.monotonic() < deadline, "the worker never delivered the code"
        time.sleep(0.5)
    for browser in (customer.browser, customer.market):
        browser.close()

    # Operations: the counts of both gunicorn workers and the queue's worker add up at /metrics (multiprocess
    # mode), the health checks answer, and the demo operator's credentials were printed.
    metrics = httpx.get(f"{guance}/metrics")
    assert 'guance_spi_calls_total{action="createInstance",outcome="ok"} 1.0' in metrics.text, metrics.text[:2000]
    assert re.search(r'guance_codes_sent_total\{purpose="bind_billing"\} 1\.0', metrics.text)
    assert (tmp_path / "prometheus").is_dir() and any((tmp_path / "prometheus").iterdir())
    assert httpx.get(f"{guance}/healthz").status_code == 200
    ready = httpx.get(f"{guance}/readyz")
    assert ready.status_code == 200 and ready.headers["X-Request-Id"]
    log.flush()
    printed = Path(log.name).read_text()
    assert "demo_ops password Guance-Ops-Demo-2026" in printed and "flask --app wsgi ops totp demo_ops" in printed
    started = {name: int(pid) for name, pid in STARTED.findall(printed)}
    assert set(started) == {"web", "market", "worker", "market-worker", "mail"}
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal: the whole foreground group
    process.wait(timeout=60)
    deadline = time.monotonic() + 10  # honcho has returned; its children may still be exiting
    while (left := [name for name, pid in started.items() if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == []
