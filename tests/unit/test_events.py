from __future__ import annotations

import threading
import time

from app.core.base.events import CancelToken


def test_pause_blocks_until_resume_and_cancel_wakes_a_paused_job() -> None:
    token = CancelToken()
    token.pause()
    woke = threading.Event()

    def job() -> None:
        token.wait_while_paused()
        woke.set()

    t = threading.Thread(target=job)
    t.start()
    time.sleep(0.05)
    assert not woke.is_set()
    token.cancel()
    t.join(2)
    assert woke.is_set() and token.cancelled
