"""The `memory://` rate-limit storage, safe with gunicorn's threads.

limits 5.8.0's MemoryStorage restarts its expiry timer without a lock: two request threads that
find it stopped at the same moment both start one Timer, and the second start raises
"threads can only be started once" (a 500 on POST /codes/send, seen in the benchmark's
scale-out run) or corrupts the threading module's bookkeeping. Fixed upstream in
alisaifee/limits#352, not yet released. Defining this class registers it for the `memory`
scheme in place of the original, so `RATELIMIT_STORAGE_URI=memory://` gets it.
"""

from __future__ import annotations

import threading

from limits.storage import MemoryStorage


class ThreadSafeMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        self._timer_lock = threading.Lock()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        del state["_timer_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self._timer_lock = threading.Lock()
        super().__setstate__(state)

    def _MemoryStorage__schedule_expiry(self) -> None:  # the private method every counter update calls
        with self._timer_lock:
            if not self.timer.is_alive():
                self.timer = threading.Timer(0.01, self._MemoryStorage__expire_events)
                self.timer.start()
