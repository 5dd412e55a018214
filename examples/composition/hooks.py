"""Lifecycle hooks: ``@on_deployment`` once per ``bento serve`` (in the supervisor, before any worker),
``@on_startup`` / ``@on_shutdown`` in every worker, ``__is_ready__`` feeding ``/readyz``.

Each hook appends a line to the file named by ``HOOKS_LOG`` (default ``hooks.log``) so you can watch
them: ``HOOKS_LOG=/tmp/hooks.log bento serve hooks.py:Warmup`` then stop it with Ctrl-C.
"""

from __future__ import annotations

import os
import time

import bentoml


def record(event: str) -> None:
    with open(os.environ.get("HOOKS_LOG", "hooks.log"), "a") as log:
        log.write(f"{event} {os.getpid()}\n")


@bentoml.service(workers=3)
class Warmup:
    @bentoml.on_deployment
    def download_assets() -> None:  # no `self`: it runs once, before any worker exists
        record("deployment")

    def __init__(self) -> None:
        self.cache: dict[str, str] = {}
        self.warm = False

    @bentoml.on_startup
    async def warm_cache(self) -> None:  # per worker, after __init__
        self.cache["greeting"] = "hello"
        self.warm = True
        record("startup")

    @bentoml.on_shutdown
    def flush(self) -> None:  # per worker, at graceful exit
        record("shutdown")

    def __is_ready__(self) -> bool:
        return self.warm

    @bentoml.api
    def greet(self, name: str) -> str:
        return f"{self.cache['greeting']}, {name} (worker {os.getpid()}, {time.strftime('%H:%M')})"
