"""The work the task benchmark queues: a 20 ms call (sleep, as an I/O- or GPU-bound model would spend it),
as a ``@bento.task`` and as a plain ``@bento.api`` of the same service (the baseline)."""

from __future__ import annotations

import time

import bento


def work(x: int) -> dict:
    started = time.time()
    time.sleep(0.02)
    return {"y": x * 2, "started": started}


@bento.service(workers=2, threads=4)
class Work:
    @bento.task
    def queued(self, x: int) -> dict:
        return work(x)

    @bento.api
    def direct(self, x: int) -> dict:
        return work(x)
