"""What the benchmark serves: the product under gunicorn and its queue worker, the floor app, databases, SMTP sink.

Everything started here is stopped by the ExitStack it is entered into, also on Ctrl-C or an error.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools.pgcluster import PostgresCluster, find_bindir
from devtools.ports import free_port
from devtools.processes import stop
from devtools.redisserver import RedisServer, find_redis_server
from devtools.smtp import SmtpSink
from devtools.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
# Every activation is a new customer from 127.0.0.1, so the per-IP limits would stop the run after
# 20 codes and 10 logins; the per-address limits stay as configured (no two customers share an address).
RAISED_LIMITS = {"CODE_SENDS_PER_IP_PER_HOUR": "1000000", "LOGIN_ATTEMPTS_PER_MINUTE": "1000000"}


@dataclass(frozen=True)
class ServerShape:
    """gunicorn's process model: `workers` processes of `threads` threads (gthread)."""

    workers: int = 2
    threads: int = 4


@dataclass(frozen=True)
class Secrets:
    secret_key: str
    isv_key: str

    @classmethod
    def fresh(cls) -> Secrets:
        return cls(secrets.token_hex(32), secrets.token_hex(16))


class Gunicorn:
    """One gunicorn master on 127.0.0.1 serving `target` (module:app); stop() ends it and its workers."""

    def __init__(
        self,
        target: str,
        env: dict[str, str],
        shape: ServerShape,
        log_dir: Path,
        config: str | None = None,
        root: Path = ROOT,
    ) -> None:
        self.target, self.env, self.shape, self.config, self.root = target, env, shape, config, root
        self.port = free_port()
        self.log = log_dir / f"gunicorn-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The master's: its process tree holds every worker (bench/cpu.py)."""
        return self.process.pid

    def start(self, ready_path: str) -> Gunicorn:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            self.target,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(self.shape.workers),
            "--threads",
            str(self.shape.threads),
            "--keep-alive",
            "5",
            "--log-level",
            "warning",
            "--error-logfile",
            str(self.log),
            "--no-control-socket",
            *(["--config", self.config] if self.config else []),
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.root, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready(ready_path)
        return self

    def _wait_ready(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.target} exited at start-up:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn {self.target} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)  # gunicorn's master stops its workers on SIGTERM
        if "Traceback" in self.log_tail(10_000):  # a server error must not pass unseen
            print(f"errors in {self.target} on port {self.port}:\n{self.log_tail(60)}", file=sys.stderr)


def product_env(
    database_url: str, mail_port: int, keys: Secrets, queue: dict[str, str] | None = None
) -> dict[str, str]:
    """Production configuration, with only the per-IP limits raised (see RAISED_LIMITS).

    `queue`: QUEUE_SQLITE_PATH or REDIS_URL, shared by the web instances and their worker.
    """
    return {
        "APP_ENV": "production",
        "SECRET_KEY": keys.secret_key,
        "ISV_KEY": keys.isv_key,
        # Only what SPI answers carry; serve_product puts the instance's own address there.
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mail_port),
        **(queue or {}),
        **RAISED_LIMITS,
    }


def serve_worker(stack: ExitStack, env: dict[str, str], log_dir: Path, root: Path = ROOT) -> Worker:
    """The queue's worker (it mails the codes), on the product's settings; stopped with the stack.

    `root`: the source tree it runs (bench/compare.py runs an older one beside this one)."""
    worker = Worker({**os.environ, **env}, log_dir / f"worker-{free_port()}.log", root)
    stack.callback(worker.stop)
    return worker.start().wait_ready()


@contextmanager
def redis_server():
    """A throwaway Redis on loopback for the scale-out run's queue (None without redis-server)."""
    executable = find_redis_server()
    if executable is None:
        yield None
        return
    server = RedisServer(executable).start()
    try:
        yield server
    finally:
        server.stop()


def serve_product(
    stack: ExitStack,
    env: dict[str, str],
    shape: ServerShape,
    log_dir: Path,
    target: str = "wsgi:app",
    root: Path = ROOT,
) -> Gunicorn:
    """The product (or, with target bench.variants:app and BENCH_VARIANT in env, a variant of it), from
    the source tree `root`."""
    server = Gunicorn(target, env, shape, log_dir, root=root)
    # SPI answers (authUrl, frontEndUrl) are built on the public address, never on a request's Host.
    server.env = {**env, "PUBLIC_BASE_URL": server.url}
    stack.callback(server.stop)
    return server.start("/login/pwd")


def serve_floor(stack: ExitStack, keys: Secrets, shape: ServerShape, log_dir: Path) -> Gunicorn:
    server = Gunicorn("bench.floor:app", {"SECRET_KEY": keys.secret_key}, shape, log_dir)
    stack.callback(server.stop)
    return server.start("/bare")


def start_smtp(stack: ExitStack, directory: Path) -> tuple[SmtpSink, int]:
    """The SMTP sink in its own process (bench/sink.py): a SmtpSink that reads its Maildir, and its pid."""
    maildir = directory / "maildir"
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sink", str(maildir)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    stack.callback(_stop, process)
    port = int(process.stdout.readline())
    return SmtpSink(controller=None, maildir=maildir, port=port), process.pid


def _stop(process: subprocess.Popen) -> None:
    stop(process, timeout=20)


def workdir(stack: ExitStack) -> Path:
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wizard-bench-")))


@contextmanager
def postgres_cluster():
    """A throwaway PostgreSQL cluster on loopback (stopped and deleted on exit)."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    cluster = PostgresCluster(bindir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def postmaster_pid(cluster: PostgresCluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def prepare_database(url: str, keys: Secrets, sizes: dict[str, int]) -> None:
    """Migrate to the newest schema and seed the customers, through the application itself."""
    from flask_migrate import upgrade

    from wizard import create_app
    from wizard.extensions import db

    from .customers import seed

    app = create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": keys.secret_key,
            "ISV_KEY": keys.isv_key,
            "PUBLIC_BASE_URL": "http://127.0.0.1",
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with app.app_context():
        upgrade()
        seed(sizes)
        db.engine.dispose()
