"""The process side of ``bento serve``: bind sockets once, fork workers, keep them alive, stop gracefully.

One supervisor process per ``bento serve``:

* it imports the user's service (through the ``load`` callable it is given), runs every
  ``@bento.on_deployment`` hook of the graph exactly once, and binds the public TCP socket for the entry
  service and a Unix socket ``<runtime_dir>/<name>.sock`` for each dependency service;
* it forks ``workers`` worker processes per service (:mod:`bento.runtime.worker`); forking from a process
  that already imported the service is what makes a worker ready in a fraction of a second;
* a worker that dies is restarted with exponential back-off, and the event is logged with its exit code
  or signal; its readiness and concurrency slots are reset in the shared region
  (:class:`bento.runtime.state.SharedRegion`), and its live Prometheus gauges are dropped;
* SIGTERM, SIGINT or SIGHUP stop it: the entry service's workers first (they stop accepting, finish
  in-flight requests within the grace period and run shutdown hooks), then the dependencies; the
  supervisor exits 0 and removes its private runtime directory;
* with ``reload`` it polls the service's source files and re-executes itself on a change
  (:mod:`bento.runtime.reload`), keeping the listening socket.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import os
import select
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bento.core.errors import InvalidArgument, InvalidConfig
from bento.core.deployment import urls_from
from bento.core.gpus import assign as assign_gpus
from bento.runtime import reload as reloading
from bento.runtime import rundir
from bento.runtime.placement import local_graph, select_service
from bento.runtime.state import SharedRegion
from bento.runtime.worker import RECYCLED, WEDGED, WorkerSpec, run_worker
from bento.core.services import Service

logger = logging.getLogger("bento.serve")

BACKOFF_START = 0.1  # seconds before the first restart of a worker that died
BACKOFF_MAX = 10.0
STABLE_AFTER = 10.0  # a worker that lived this long resets its back-off
KILL_MARGIN = 5.0  # extra seconds after the grace period before stragglers are killed
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@dataclass
class ServeOptions:
    """Settings from the command line or environment; ``None`` falls back to the service's config."""

    host: str | None = None
    port: int | None = None
    workers: int | None = None
    reload: bool = False
    timeout_graceful_shutdown: float = 30.0
    development: bool = False
    service: str | None = None  # serve this service of the graph (one service per container)
    watch_dir: Path | None = None
    launch_dir: Path | None = None  # where `bento serve` started; a reload re-executes from there
    backlog: int | None = None  # listen backlog of the public socket (else the service's `backlog`)
    ssl_certfile: str | None = None  # TLS on the public port (else the service's `ssl` section)
    ssl_keyfile: str | None = None


@dataclass
class Slot:
    """One worker position of one service; its process comes and goes, the slot stays."""

    service: Service[Any]
    worker_id: int
    sock: socket.socket
    internal: bool
    needs: list[str]
    pid: int | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    ever_ready: bool = False  # some process in this slot finished starting (later crashes are restarted)
    label: str = field(default="")


def setup_logging() -> None:
    """Log lines of the supervisor and (inherited through fork) of every worker; called by the CLI."""
    from bento.runtime.access_log import LOG_DATEFMT, LOG_FORMAT, STDERR_HANDLER_NAME

    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(STDERR_HANDLER_NAME)  # the access log writes straight to it while it is the only one
    handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATEFMT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _exit_now(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def describe_exit(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"was killed by signal {signal.Signals(-code).name}"
    if code == WEDGED:
        return f"stopped itself because every API thread was stuck (exit code {code})"
    return f"exited with code {code}"


def run_deployment_hooks(graph: list[Service[Any]]) -> None:
    """Every ``@bento.on_deployment`` hook of the graph, dependencies first, in this process."""
    for svc in reversed(graph):
        for hook in svc.hooks["deployment"]:
            if isinstance(hook, classmethod):
                result = hook.__func__(svc.inner)
            elif isinstance(hook, staticmethod):
                result = hook.__func__()
            else:
                result = hook()
            if inspect.isawaitable(result):
                async def wait(awaitable: Any = result) -> Any:
                    return await awaitable

                asyncio.run(wait())


def _tls_files(opts: ServeOptions, config: Any) -> tuple[str, str, str | None] | None:
    """(certfile, keyfile, key password) for the public port: the flags win over the `ssl` config."""
    certfile = opts.ssl_certfile or (config.ssl.certfile if config.ssl.enabled or config.ssl.certfile else None)
    keyfile = opts.ssl_keyfile or config.ssl.keyfile
    if not certfile and not keyfile:
        return None
    if not certfile or not keyfile:
        raise InvalidArgument("TLS needs both a certificate and a key: --ssl-certfile and --ssl-keyfile "
                              "(or `ssl.certfile` and `ssl.keyfile`)")
    for path in (certfile, keyfile):
        if not os.path.isfile(path):
            raise InvalidArgument(f"TLS file {path} does not exist")
    return certfile, keyfile, config.ssl.keyfile_password


def bind_tcp(host: str, port: int, backlog: int = 2048) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and
    # without it small responses written in two parts wait for the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise InvalidArgument(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port") from None
    sock.setblocking(False)
    return sock


def bind_unix(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class Supervisor:
    def __init__(self, load: Callable[[], Service[Any]], options: ServeOptions) -> None:
        self.load = load
        self.options = options
        self.slots: list[Slot] = []
        self.sockets: list[socket.socket] = []
        self.runtime_dir = ""
        self.stopping = False
        self.exit_code = 0
        self._by_pid: dict[int, Slot] = {}
        self._ever_ready: set[str] = set()
        self._announced = False
        self._wake_r = self._wake_w = -1
        self._pid = os.getpid()

    # ---- entry point -------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until stopped; returns the process exit status."""
        self.runtime_dir = rundir.create()  # mode 0700; removes those of supervisors killed with SIGKILL
        metrics_dir = os.path.join(self.runtime_dir, "metrics")
        os.mkdir(metrics_dir, 0o700)
        # Before anything imports prometheus_client: every worker writes its metrics to this directory.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        inherited = os.environ.pop(reloading.LISTEN_FD_ENV, None)
        reloaded = os.environ.pop(reloading.RELOADED_ENV, None) is not None
        public = socket.socket(fileno=int(inherited)) if inherited else None
        for signum in (signal.SIGTERM, signal.SIGHUP):  # until workers run, a stop request just ends us
            signal.signal(signum, _exit_now)
        try:
            return self._run(public, reloaded)
        finally:
            self._close()

    def _run(self, public: socket.socket | None, reloaded: bool) -> int:
        opts = self.options
        try:
            entry = self.load()
        except Exception as exc:
            if public is None or opts.watch_dir is None:
                raise
            # A reload picked up a broken edit: keep the port, log one line, answer 503 until the next edit.
            message = f"cannot load the service after a change: {reloading.one_line_error(exc, opts.watch_dir)}"
            logger.error("%s", message)
            self._wait_for_change_and_reexec(public, message)
        if opts.service is not None:
            entry = select_service(entry, opts.service)
        # Dependencies named by BENTO_DEPENDENCY_URL_<NAME> run elsewhere (another container): HTTP, no socket.
        urls = {} if opts.development else urls_from(os.environ, [s.name for s in entry.graph()[1:]])
        config = entry.config
        host = opts.host or config.http.host
        port = opts.port if opts.port is not None else config.http.port
        graph = [entry] if opts.development else local_graph(entry, set(urls))
        names = [svc.name for svc in graph]
        if len(set(names)) != len(names):
            raise InvalidConfig(f"services in one graph need distinct names (got {', '.join(names)}); "
                                "set @bento.service(name=...)")
        counts = {svc.name: (self._entry_workers(entry) if svc is entry else svc.config.worker_count())
                  for svc in graph}
        # Each worker's own CUDA_VISIBLE_DEVICES (resources.gpu); too few GPUs fails here, before binding.
        gpu_devices = assign_gpus([(svc.name, svc.config.resources.gpu, counts[svc.name]) for svc in graph])
        if public is None:
            backlog = opts.backlog if opts.backlog is not None else config.backlog
            public = bind_tcp(host, port, backlog)  # before the hooks: a busy port should fail fast
        self.sockets.append(public)
        if not reloaded:
            run_deployment_hooks(entry.graph() if opts.development else graph)
        tls = _tls_files(opts, config)
        region = SharedRegion(counts, self.runtime_dir)
        dependency_sockets: dict[str, str] = {}
        for svc in graph[1:]:
            path = os.path.join(self.runtime_dir, f"{svc.name}.sock")
            self.sockets.append(bind_unix(path))
            dependency_sockets[svc.name] = path
        for index, svc in enumerate(graph):
            needs = [] if opts.development else [s.name for s in local_graph(svc, set(urls))[1:]]
            for worker_id in range(counts[svc.name]):
                label = f"worker {worker_id + 1}/{counts[svc.name]} of {svc.name}"
                self.slots.append(Slot(svc, worker_id, self.sockets[index], index > 0, needs, label=label))
        environ = dict(os.environ)

        def fork(slot: Slot) -> None:
            devices = gpu_devices.get((slot.service.name, slot.worker_id))
            env = environ if devices is None else {**environ, "CUDA_VISIBLE_DEVICES": devices}
            spec = WorkerSpec(slot.service, slot.worker_id, slot.sock, slot.internal, env,
                              opts.timeout_graceful_shutdown, dependency_sockets, slot.needs,
                              dependency_urls={name: url for name, url in urls.items()
                                               if name in {s.name for s in slot.service.graph()}},
                              tls=None if slot.internal else tls)
            limit = slot.service.config.traffic.max_concurrency
            self._fork(slot, spec, lambda: region.state(slot.service.name, slot.worker_id, limit, slot.needs))

        self._install_signals()
        for slot in self.slots:
            fork(slot)
        where = f"{'https' if tls else 'http'}://{'[' + host + ']' if ':' in host else host}:{public.getsockname()[1]}"
        logger.info("serving %s on %s (%s)", entry.name, where,
                    ", ".join(f"{n}: {c} worker{'s' if c > 1 else ''}" for n, c in counts.items()))
        watcher = reloading.SourceWatcher(opts.watch_dir) if opts.reload and opts.watch_dir else None
        began = time.monotonic()
        while not self.stopping:
            # Poll quickly while the service starts (to log "ready" promptly), slowly afterwards.
            starting = not self._announced and time.monotonic() - began < 30
            for signum in self._wait(0.05 if starting else 0.5 if watcher else 1.0):
                if signum in STOP_SIGNALS:
                    logger.info("received %s, shutting down gracefully", signal.Signals(signum).name)
                    self.stopping = True
            self._reap(region)
            now = time.monotonic()
            for slot in self.slots:
                if not self.stopping and slot.pid is None and slot.restart_at is not None and now >= slot.restart_at:
                    fork(slot)
            self._ever_ready.update(n for n in counts if region.ready(n))
            if not self._announced and all(region.ready(n) for n in counts):
                self._announced = True
                logger.info("ready: %s", where)
            if watcher is not None and not self.stopping:
                changed = watcher.changed()
                if changed:
                    logger.info("change detected in %s; reloading", ", ".join(changed[:5]))
                    self._stop_workers(region, graph)
                    self._reexec(public)
        # Stop accepting: once the workers close their copies too, new connections are refused rather
        # than left waiting in a backlog nobody reads.
        for sock in self.sockets:
            sock.close()
        self.sockets = []
        self._stop_workers(region, graph)
        return self.exit_code

    def _entry_workers(self, entry: Service[Any]) -> int:
        if self.options.development:
            if (self.options.workers or 1) > 1:
                logger.warning("--development runs the graph in one worker; ignoring --workers %d",
                               self.options.workers)
            return 1
        if self.options.workers is not None:
            return self.options.workers
        return entry.config.worker_count()

    # ---- processes ---------------------------------------------------------------------------
    def _fork(self, slot: Slot, spec: WorkerSpec, state_factory: Callable[[], Any]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        # Everything imported so far lives as long as the worker: keep it out of the garbage collector's
        # sweeps (shorter full collections) and off the pages a collection would copy-on-write.
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # the worker: drop the supervisor's plumbing, never return
            signal.set_wakeup_fd(-1)
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)
            for sock in self.sockets:
                if sock is not slot.sock:
                    sock.close()
            run_worker(spec, state_factory, self._pid)
        slot.pid = pid
        slot.started = time.monotonic()
        slot.restart_at = None
        self._by_pid[pid] = slot

    def _reap(self, region: SharedRegion) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            slot = self._by_pid.pop(pid, None)
            if slot is None:
                continue
            slot.pid = None
            name = slot.service.name
            if region.ready(name):
                self._ever_ready.add(name)
            slot.ever_ready = slot.ever_ready or region.worker_ready(name, slot.worker_id)
            region.reset(name, slot.worker_id)
            self._forget_metrics(pid)
            if self.stopping:
                continue
            lived = time.monotonic() - slot.started
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == RECYCLED:
                slot.restart_at = time.monotonic()
                logger.info("%s (pid %d) retired (traffic.max_requests / max_memory); starting its replacement",
                            slot.label, pid)
                continue
            if not slot.ever_ready and name not in self._ever_ready:  # never served: restarting won't help
                logger.error("%s (pid %d) %s before %s was ever ready (see the error above); stopping",
                             slot.label, pid, describe_exit(status), name)
                self.exit_code = 1
                self.stopping = True
                continue
            slot.failures = 1 if lived >= STABLE_AFTER else slot.failures + 1
            delay = min(BACKOFF_MAX, BACKOFF_START * 2 ** (slot.failures - 1))
            slot.restart_at = time.monotonic() + delay
            logger.warning("%s (pid %d) %s; restarting it in %.1fs", slot.label, pid, describe_exit(status), delay)

    def _forget_metrics(self, pid: int) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, os.environ["PROMETHEUS_MULTIPROC_DIR"])

    def _stop_workers(self, region: SharedRegion, graph: list[Service[Any]]) -> None:
        """SIGTERM the entry service's workers, wait for them, then the next service's, and so on."""
        self.stopping = True
        deadline = time.monotonic() + self.options.timeout_graceful_shutdown + KILL_MARGIN
        for svc in graph:
            group = [slot for slot in self.slots if slot.service is svc and slot.pid is not None]
            for slot in group:
                self._signal(slot, signal.SIGTERM)
            while any(slot.pid is not None for slot in group) and time.monotonic() < deadline:
                if signal.SIGINT in self._wait(0.05):  # a second Ctrl-C: do not wait any longer
                    deadline = 0.0
                self._reap(region)
        for slot in self.slots:
            if slot.pid is not None:
                logger.warning("%s (pid %d) did not stop in time; killing it", slot.label, slot.pid)
                self._signal(slot, signal.SIGKILL)
        for pid in list(self._by_pid):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self._by_pid.clear()

    @staticmethod
    def _signal(slot: Slot, signum: int) -> None:
        try:
            if slot.pid is not None:
                os.kill(slot.pid, signum)
        except ProcessLookupError:
            pass

    # ---- signals -----------------------------------------------------------------------------
    def _install_signals(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        signal.set_wakeup_fd(self._wake_w)
        for signum in (*STOP_SIGNALS, signal.SIGCHLD):
            signal.signal(signum, lambda *_: None)  # the wake-up fd carries the signal number

    def _wait(self, timeout: float) -> list[int]:
        """Sleep until a signal arrives or ``timeout`` passes; the signals received meanwhile."""
        readable, _, _ = select.select([self._wake_r], [], [], timeout)
        if not readable:
            return []
        try:
            return list(os.read(self._wake_r, 512))
        except BlockingIOError:
            return []

    # ---- reload and clean-up -----------------------------------------------------------------
    def _wait_for_change_and_reexec(self, public: socket.socket, message: str) -> None:
        assert self.options.watch_dir is not None
        watcher = reloading.SourceWatcher(self.options.watch_dir)
        self._install_signals()
        while True:
            readable, _, _ = select.select([self._wake_r, public.fileno()], [], [], 0.5)
            if public.fileno() in readable:
                reloading.answer_unavailable(public, message)
            if self._wake_r in readable and any(s in STOP_SIGNALS for s in self._wait(0)):
                raise SystemExit(0)
            if watcher.changed():
                self._reexec(public)

    def _reexec(self, public: socket.socket) -> None:
        fd = public.fileno()
        self.sockets = [s for s in self.sockets if s is not public]
        self._close()
        reloading.reexec(fd, self.options.launch_dir)

    def _close(self) -> None:
        if os.getpid() != self._pid:
            return
        if self._wake_w != -1:
            signal.set_wakeup_fd(-1)
            for signum in (*STOP_SIGNALS, signal.SIGCHLD):
                signal.signal(signum, signal.SIG_DFL)
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_r = self._wake_w = -1
        for sock in self.sockets:
            sock.close()
        self.sockets = []
        if self.runtime_dir:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            self.runtime_dir = ""


def serve(load: Callable[[], Service[Any]], options: ServeOptions) -> int:
    """Run ``bento serve`` until it is stopped; returns the exit status. BentoErrors (a bad target, a port
    in use, a failing deployment hook's own error) propagate to the CLI."""
    return Supervisor(load, options).run()
