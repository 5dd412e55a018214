"""One worker process: uvicorn serving one service's ASGI app on a socket its supervisor bound.

Workers are forked from the supervisor after it imported the user's service, so a worker starts with
the service module (and bento's data model) already in memory and only imports the ASGI stack itself.
:func:`run_worker` runs in the child right after ``fork`` and never returns.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import socket
import sys
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from bento.core.errors import BentoError

if TYPE_CHECKING:
    from bento.runtime.state import ServingState
    from bento.core.services import Service

logger = logging.getLogger("bento.serve")

DEPENDENCY_SOCKETS_ENV = "BENTO_DEPENDENCY_SOCKETS"
STARTUP_FAILED = 3  # exit status of a worker whose service could not start (as uvicorn's own)
WEDGED = 4  # exit status of a worker that stopped itself because every API thread was stuck
RECYCLED = 5  # exit status of a worker that retired after traffic.max_requests or over traffic.max_memory


@dataclass
class WorkerSpec:
    """Everything one worker needs; built by the supervisor before it forks."""

    service: Service[Any]
    worker_id: int
    sock: socket.socket
    internal: bool
    environ: dict[str, str]
    timeout_graceful_shutdown: float
    dependency_sockets: dict[str, str] = field(default_factory=dict)
    needs: list[str] = field(default_factory=list)
    dependency_urls: dict[str, str] = field(default_factory=dict)  # services in other containers
    tls: tuple[str, str, str | None] | None = None  # (certfile, keyfile, key password) of the public port


def _raise_exit(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to SIGTERM this worker if the supervisor dies without stopping it (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os._exit(0)


def _apply_environment(spec: WorkerSpec) -> None:
    os.environ.clear()
    os.environ.update(spec.environ)
    for var in spec.service.config.envs:
        if var.value is not None:
            os.environ.setdefault(var.name, var.value)  # the real environment wins (e.g. `docker run -e`)
        elif var.name not in os.environ:
            logger.warning("service %s declares env %s without a value and it is not set", spec.service.name,
                           var.name)
    if spec.dependency_sockets:
        os.environ[DEPENDENCY_SOCKETS_ENV] = json.dumps(spec.dependency_sockets)


def _resolver(spec: WorkerSpec) -> Any:
    """What lets ``bento.depends`` reach the other services: over their Unix sockets, and those named by
    a ``BENTO_DEPENDENCY_URL_<NAME>`` variable (in other containers) over HTTP; None: in-process."""
    resolver = None
    if spec.dependency_sockets:
        from bento.runtime.remote import SocketResolver

        resolver = SocketResolver(spec.dependency_sockets)
    if spec.dependency_urls:
        from bento.runtime.http_remote import URLResolver

        return URLResolver(spec.dependency_urls, resolver)
    return resolver


def event_loop() -> str:
    """uvicorn's ``loop`` setting: uvloop when installed (a dependency, but a platform without its wheel
    still serves, on asyncio's loop). The parser is httptools likewise (``runtime/protocol.py`` builds on
    uvicorn's automatic choice, which takes httptools when it is installed, else h11)."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def _serve(spec: WorkerSpec, state: ServingState) -> int:
    import uvicorn

    from bento.runtime.app import create_app
    from bento.runtime.hosts import HostGuard
    from bento.runtime.protocol import protocol_class

    app = create_app(spec.service, state, internal=spec.internal, resolver=_resolver(spec))
    if isinstance(app.host_guard, HostGuard) and spec.sock.family in (socket.AF_INET, socket.AF_INET6):
        app.host_guard.bound = spec.sock.getsockname()[0]  # the default allowed hosts follow the bind address
    config = spec.service.config
    uv_config = uvicorn.Config(
        app,
        loop=event_loop(),  # type: ignore[arg-type]
        lifespan="on",
        ws="none",  # websockets are not served; don't import a websocket stack
        http=protocol_class(config.http.header_read_timeout, config.http.body_read_timeout),
        access_log=False,  # the app writes its own access log (``bento.access``) per ``logging.access``
        log_config=None,  # the supervisor configured logging before forking; keep its format
        log_level=config.logging.level,
        timeout_graceful_shutdown=spec.timeout_graceful_shutdown,  # type: ignore[arg-type]
        server_header=False,
        proxy_headers=False,
        # TLS of the public port (`--ssl-certfile/--ssl-keyfile` or the `ssl` config); None: plain HTTP
        ssl_certfile=spec.tls[0] if spec.tls else None,
        ssl_keyfile=spec.tls[1] if spec.tls else None,
        ssl_keyfile_password=spec.tls[2] if spec.tls else None,
    )
    logging.getLogger().setLevel(config.logging.level.upper())  # the service's `logging.level`, this worker
    if config.logging.level != "debug":  # uvicorn's start/stop chatter repeats what the supervisor logs
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    server = uvicorn.Server(uv_config)
    failures: list[BaseException] = []

    def startup_failed(exc: BaseException) -> None:  # ``__init__`` or an on_startup hook raised
        failures.append(exc)
        server.should_exit = True

    def wedged(message: str) -> None:  # every API thread stuck: stop accepting, drain, exit for a replacement
        server.should_exit = True

    def recycle(reason: str) -> None:  # traffic.max_requests / max_memory: drain, then exit for a fresh one
        server.should_exit = True

    app.on_startup_failure = startup_failed
    app.on_wedged = wedged
    if app.recycler is not None:
        app.recycler.on_recycle = recycle
    try:
        server.run(sockets=[spec.sock])
    except SystemExit as exc:  # uvicorn exits 3 on a failed startup; our handler exits 0 on a signal
        return exc.code if isinstance(exc.code, int) else 1
    if app.runtime.wedged is not None:
        return WEDGED
    if app.recycler is not None and app.recycler.reason is not None:
        return RECYCLED
    return STARTUP_FAILED if failures else 0


def run_worker(spec: WorkerSpec, state_factory: Any, parent: int) -> NoReturn:
    """Body of a freshly forked worker process; ends the process with the worker's exit status."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed terminal reaches the supervisor, which stops us
        # Until uvicorn installs its own handlers a stop request simply ends the worker; afterwards uvicorn
        # restores these, re-raises the signal it handled, and the worker leaves with status 0.
        signal.signal(signal.SIGTERM, _raise_exit)
        signal.signal(signal.SIGINT, _raise_exit)
        _die_with_parent(parent)
        _apply_environment(spec)
        from bento.core.server_info import server_context

        server_context.worker_index = spec.worker_id + 1
        server_context.service_name = spec.service.name
        server_context.service_type = "service"
        code = _serve(spec, state_factory())
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BentoError as exc:  # e.g. an API on a reserved route: the message says how to fix it
        logger.error("error: %s", exc)
        code = exc.exit_code
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
