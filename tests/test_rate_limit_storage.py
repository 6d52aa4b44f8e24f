"""Rate limits counted in memory stay exact, and never fail, when gunicorn's threads hit them at once."""

import pickle
import sys
import threading

import limits.storage.memory  # its `threading` is the module the storages use
import pytest

from wizard.extensions import limiter
from wizard.rate_limit_storage import ThreadSafeMemoryStorage


class CountedTimer(threading.Timer):
    """A Timer that fires at once (so nearly every hit restarts it) and counts its starts."""

    started_twice = 0

    def __init__(self, interval, function):
        super().__init__(0, function)
        self.starts = 0

    def start(self):
        self.starts += 1
        if self.starts > 1:  # where threading.Thread raises, or corrupts its bookkeeping
            CountedTimer.started_twice += 1
            return
        super().start()


@pytest.fixture
def instant_timers(monkeypatch):
    monkeypatch.setattr(limits.storage.memory.threading, "Timer", CountedTimer)
    CountedTimer.started_twice = 0
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads as often as possible
    yield CountedTimer
    sys.setswitchinterval(previous)


def test_the_application_counts_in_the_thread_safe_storage(app):
    with app.test_request_context("/"):
        assert isinstance(limiter.storage, ThreadSafeMemoryStorage)


def test_threads_hitting_at_once_never_start_one_timer_twice_and_lose_no_hit(instant_timers):
    storage = ThreadSafeMemoryStorage("memory://")
    errors = []

    def hit(times=1500):
        for number in range(times):
            try:
                storage.incr(f"codes/send:{number % 5}", 3600)
            except RuntimeError as error:
                errors.append(error)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert instant_timers.started_twice == 0
    assert sum(storage.get(f"codes/send:{key}") for key in range(5)) == 8 * 1500


def test_it_survives_pickling_like_the_original():
    storage = ThreadSafeMemoryStorage("memory://")
    storage.incr("login:127.0.0.1", 60)
    copy = pickle.loads(pickle.dumps(storage))
    assert copy.get("login:127.0.0.1") == 1
    copy.incr("login:127.0.0.1", 60)
