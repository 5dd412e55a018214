"""``bento serve``: run a service, a project directory or a built bento on this machine."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

SERVE_HELP = """Serve TARGET over HTTP until Ctrl-C (or SIGTERM), with a supervisor and worker processes.

\b
TARGET is one of:
  service.py:MyService   a class in a Python file
  my_module:MyService    a class in an importable module
  my_bento:1.0 / my_bento:latest / my_bento
                         a bento from the local store (`bento list`)
  path/to/dir            a project directory (bentofile.yaml/.yml or pyproject.toml) or a bento directory
  (nothing)              the project in the current directory: bentofile.yaml `service:` or
                         pyproject.toml `[tool.bento]` / `[tool.bentoml.build]` `service = "module:Class"`

Settings come from, in order: the flag, its environment variable, the service's @bento.service
config (`http.port`, `http.host`, `workers`), the default.

\b
Examples:
  bento serve service.py:Summarizer
  bento serve --reload                  restart workers whenever a source file changes
  BENTO_PORT=8080 bento serve summarizer:latest
"""


@dataclass
class Target:
    import_string: str
    working_dir: Path
    chdir: bool  # serve from inside working_dir (bentos: relative paths resolve against their source)
    envs: dict[str, str] = field(default_factory=dict)  # a bento's build-time `envs`, defaults for the server
    maybe_tag: str | None = None  # looked up in the store without success; named in the error if import fails
    record: Any = None  # a bento's recorded models (bento.store.pins.ModelRecord): served instead of the store's
    arguments: dict[str, str] = field(default_factory=dict)  # a bento's build-time `--arg` values (defaults)


def _bento_target(directory: Path) -> Target:
    from bento.core.project import read_bento_manifest
    from bento.errors import InvalidConfig

    manifest = read_bento_manifest(directory)
    if manifest.service is None:
        raise InvalidConfig(f"{manifest.where} has no top-level `service` key; rebuild the bento")
    from bento.store.pins import ModelRecord

    record = ModelRecord.from_manifest(manifest.data, manifest.where)
    recorded = manifest.data.get("arguments")
    arguments: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
    return Target(manifest.service, directory / "src", chdir=True, envs=manifest.envs, record=record,
                  arguments={str(k): str(v) for k, v in arguments.items()})


def _from_directory(directory: Path) -> Target:
    from bento.core.project import find_project, is_bento

    directory = directory.resolve()
    if is_bento(directory):
        return _bento_target(directory)
    project = find_project(directory)
    if project is None:
        from bento.errors import NotFound

        raise NotFound(
            f"no service to serve in {directory}: pass TARGET (e.g. `bento serve service.py:MyService`) or add "
            "bentofile.yaml with `service: \"module:Class\"`"
        )
    return Target(project.service, directory, chdir=False)


def _from_store(tag: str) -> Target | None:
    from bento.errors import BentoError

    try:
        from bento.store import open_store

        bento = open_store().bentos.get(tag)
    except (BentoError, ImportError, AttributeError):
        return None
    path = Path(getattr(bento, "path", bento))
    return _from_directory(path)


def _is_local_module(module: str, base: Path) -> bool:
    candidate = base.joinpath(*module.split("."))
    return candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file()


def resolve_target(target: str | None, cwd: Path) -> Target:
    """Decide what TARGET names (see ``bento serve --help``); store lookups only for tag-like targets."""
    if not target:
        return _from_directory(cwd)
    as_path = cwd / target
    if as_path.is_dir():
        return _from_directory(as_path)
    module, _, _attr = target.partition(":")
    if module.endswith(".py") or "/" in module or os.sep in module:
        file_part = Path(module)
        directory = (cwd / file_part).parent.resolve()
        return Target(f"{file_part.name}{target[len(module):]}", directory, chdir=False)
    if _is_local_module(module, cwd):
        return Target(target, cwd, chdir=False)
    return _from_store(target) or Target(target, cwd, chdir=False, maybe_tag=target)


def _parse_workers(value: str | None) -> int | None:
    if value is None:
        return None
    if value == "cpu_count":
        return os.cpu_count() or 1
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise click.BadParameter(f"{value!r} is not a positive integer or `cpu_count`", param_hint="--workers")


def _set_environment(recorded: dict[str, str], arguments: tuple[str, ...], env_vars: tuple[str, ...]) -> None:
    """``--arg`` (over a bento's recorded arguments) into BENTO_ARGUMENTS, read by bentoml.use_arguments in
    every process, and ``--env`` into the environment; both survive the fork of the workers and a --reload
    re-execution."""
    import json

    from bento.core.server_info import ARGUMENTS_ENV, parse_arguments

    if arguments or recorded:
        current = json.loads(os.environ.get(ARGUMENTS_ENV) or "{}")
        os.environ[ARGUMENTS_ENV] = json.dumps({**recorded, **current, **parse_arguments(arguments)})
    for item in env_vars:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--env")
        os.environ[name] = value


def _override_timeout(entry: Any, timeout: float) -> None:
    for svc in entry.graph():
        svc.config = svc.config.model_copy(update={"traffic": svc.config.traffic.model_copy(
            update={"timeout": timeout})})


@click.command(help=SERVE_HELP)
@click.argument("target", required=False)
@click.option("--port", type=click.IntRange(0, 65535), envvar="BENTO_PORT", show_envvar=True,
              help="TCP port to listen on.  [default: http.port of the service, else 3000]")
@click.option("--host", envvar="BENTO_HOST", show_envvar=True,
              help="Address to listen on; 0.0.0.0 for every interface.  [default: http.host, else 127.0.0.1]")
@click.option("--workers", envvar="BENTO_WORKERS", show_envvar=True, metavar="N|cpu_count",
              help="Worker processes of the entry service.  [default: `workers` of the service, else 1]")
@click.option("--reload", is_flag=True, help="Restart the workers when a source file changes (development).")
@click.option("--timeout-graceful-shutdown", type=click.FloatRange(min=0), default=30.0, show_default=True,
              metavar="SECONDS", help="How long in-flight requests may run on after SIGTERM / Ctrl-C.")
@click.option("--service", "service_name", envvar="BENTO_SERVICE", show_envvar=True, metavar="NAME",
              help="Serve only this service of the graph (one service per container, as `bento deploy` runs it); "
                   "dependencies named by BENTO_DEPENDENCY_URL_<NAME> are called over HTTP.")
@click.option("--development", is_flag=True,
              help="Run the whole service graph in one worker process (dependencies in-process), for debugging.")
@click.option("--working-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Resolve TARGET from this directory instead of the current one.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Request timeout of every service (overrides `traffic.timeout`).")
@click.option("--backlog", type=click.IntRange(min=1), help="Pending connections the public socket queues.  "
              "[default: `backlog` of the service, else 2048]")
@click.option("--ssl-certfile", type=click.Path(dir_okay=False), help="Serve HTTPS with this certificate (PEM).")
@click.option("--ssl-keyfile", type=click.Path(dir_okay=False), help="The private key of --ssl-certfile (PEM).")
@click.option("--arg", "arguments", multiple=True, metavar="KEY=VALUE",
              help="A template argument for bentoml.use_arguments() (repeatable).")
@click.option("--env", "env_vars", multiple=True, metavar="KEY=VALUE",
              help="Set an environment variable for the service (repeatable; wins over the bento's `envs`).")
@click.option("--api-workers", "api_workers", hidden=True, help="BentoML's name for --workers.")
@click.option("--production", is_flag=True, hidden=True, help="Accepted for BentoML; serving is always multi-process.")
@click.option("--ssl-keyfile-password", "--ssl-version", "--ssl-cert-reqs", "--ssl-ca-certs", "--ssl-ciphers",
              "ssl_ignored", multiple=True, hidden=True, help="Accepted for BentoML; no effect here.")
def serve(target: str | None, port: int | None, host: str | None, workers: str | None, reload: bool,
          timeout_graceful_shutdown: float, service_name: str | None, development: bool, working_dir: Path | None,
          timeout: float | None, backlog: int | None, ssl_certfile: str | None, ssl_keyfile: str | None,
          arguments: tuple[str, ...], env_vars: tuple[str, ...], api_workers: str | None, production: bool,
          ssl_ignored: tuple[str, ...]) -> None:
    from bento.core.importing import SERVING_ENV
    from bento.runtime import supervisor

    os.environ[SERVING_ENV] = "1"  # `with bento.importing():` imports must work now
    cwd = (working_dir or Path.cwd()).resolve()
    resolved = resolve_target(target, cwd)
    _set_environment(resolved.arguments, arguments, env_vars)
    options = supervisor.ServeOptions(
        host=host,
        port=port,
        workers=_parse_workers(workers or api_workers),
        reload=reload,
        timeout_graceful_shutdown=timeout_graceful_shutdown,
        development=development,
        service=service_name or None,
        watch_dir=resolved.working_dir,
        launch_dir=Path.cwd(),
        backlog=backlog,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    if resolved.chdir or working_dir is not None:
        os.chdir(resolved.working_dir if resolved.chdir else cwd)
    for name, value in resolved.envs.items():
        os.environ.setdefault(name, value)  # the real environment wins, as in the container image

    def load() -> Any:
        from bento.errors import NotFound
        from bento.core.loader import import_service

        if resolved.record is not None:  # a bento serves the models it recorded, or does not start
            from bento.core.server_info import server_context
            from bento.store import open_store, pins

            resolved.record.check(open_store())
            pins.activate(resolved.record)
            server_context.bento_name, _, server_context.bento_version = resolved.record.bento.partition(":")
        try:
            entry = import_service(resolved.import_string, resolved.working_dir)
        except NotFound as exc:
            if resolved.maybe_tag is None:
                raise
            raise NotFound(f"{exc}; nor is there a bento {resolved.maybe_tag!r} in the store (see `bento list`)") from None
        if timeout is not None:
            _override_timeout(entry, timeout)
        return entry

    supervisor.setup_logging()
    code = supervisor.serve(load, options)
    if code:
        sys.exit(code)
