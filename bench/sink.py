"""`python -m bench.sink MAILDIR`: the SMTP sink (devtools.smtp) in a process of its own; prints its port.

In the benchmark's own process, the sink's event loop would wait for the GIL behind 16 client
threads, and the product's 获取验证码 would be timed waiting on it rather than on its own work.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from devtools.smtp import SmtpSink


def main(maildir: str) -> None:
    sink = SmtpSink.start(Path(maildir))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(sink.port, flush=True)
    stop.wait()
    sink.stop()


if __name__ == "__main__":
    main(sys.argv[1])
