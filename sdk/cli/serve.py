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


def _bento_target(directory: Path) -> Target:
    from bento.core.project import read_bento_manifest
    from bento.errors import InvalidConfig

    manifest = read_bento_manifest(directory)
    if manifest.service is None:
        raise InvalidConfig(f"{manifest.where} has no top-level `service` key; rebuild the bento")
    from bento.store.pins import ModelRecord

    record = ModelRecord.from_manifest(manifest.data, manifest.where)
    return Target(manifest.service, directory / "src", chdir=True, envs=manifest.envs, record=record)


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
def serve(target: str | None, port: int | None, host: str | None, workers: str | None, reload: bool,
          timeout_graceful_shutdown: float, service_name: str | None, development: bool) -> None:
    from bento.core.importing import SERVING_ENV
    from bento.runtime import supervisor

    os.environ[SERVING_ENV] = "1"  # `with bento.importing():` imports must work now
    cwd = Path.cwd()
    resolved = resolve_target(target, cwd)
    options = supervisor.ServeOptions(
        host=host,
        port=port,
        workers=_parse_workers(workers),
        reload=reload,
        timeout_graceful_shutdown=timeout_graceful_shutdown,
        development=development,
        service=service_name or None,
        watch_dir=resolved.working_dir,
        launch_dir=cwd,
    )
    if resolved.chdir:
        os.chdir(resolved.working_dir)
    for name, value in resolved.envs.items():
        os.environ.setdefault(name, value)  # the real environment wins, as in the container image

    def load() -> Any:
        from bento.errors import NotFound
        from bento.core.loader import import_service

        if resolved.record is not None:  # a bento serves the models it recorded, or does not start
            from bento.store import open_store, pins

            resolved.record.check(open_store())
            pins.activate(resolved.record)
        try:
            return import_service(resolved.import_string, resolved.working_dir)
        except NotFound as exc:
            if resolved.maybe_tag is None:
                raise
            raise NotFound(f"{exc}; nor is there a bento {resolved.maybe_tag!r} in the store (see `bento list`)") from None

    supervisor.setup_logging()
    code = supervisor.serve(load, options)
    if code:
        sys.exit(code)
