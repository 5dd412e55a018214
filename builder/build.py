"""``bento build``: from a project directory to a versioned bento in the store.

Layout of a bento::

    bento.yaml                       manifest (written by the store; our keys are in ``extra``)
    README.md                        the description
    src/                             the selected project files
    apis/openapi.yaml                the HTTP API (when an OpenAPI generator is supplied)
    env/python/requirements.lock.txt locked requirements, with hashes
    env/python/local/*.whl           our own package (the running one, as a wheel), `python.wheels`
    env/python/wheels/*.whl          the locked wheels, when vendored
    env/docker/Dockerfile            + entrypoint.sh, setup_script

The version is a content hash of all of that (manifest included, no wall-clock time), so the same project
builds to the same tag and any change to a file, a requirement or a model's content gives a new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from bento.builder import describe, dockerfile, images, lock, ownwheel, vendor
from bento.builder.files import select_files
from bento.core.bentofile import BuildConfig
from bento.core.errors import BuildError, InvalidConfig
from bento.core.project import inside_project, read_description, read_project

Progress = Callable[[str], None]
FileContent = bytes | Path


@dataclass
class BuildResult:
    tag: str
    path: Path
    existed: bool  # the same version was already in the store; nothing was written
    item: Any
    warnings: list[str] = field(default_factory=list)


def _noop(message: str) -> None:
    pass


def content_version(files: dict[str, FileContent], manifest: dict[str, Any]) -> str:
    """16 hex digits of a hash over every file (path + content) and the manifest."""
    import json

    digest = hashlib.sha256()
    for rel in sorted(files):
        content = files[rel]
        data = content.read_bytes() if isinstance(content, Path) else content
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    digest.update(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()[:16]


def _check_sources_selected(services: list[Any], project_dir: Path, selected: dict[str, Path]) -> None:
    root = project_dir.resolve()
    for svc in services:
        module = sys.modules.get(svc.inner.__module__)
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if not path.is_relative_to(root):
            continue  # an installed package, part of the environment rather than the source
        rel = path.relative_to(root).as_posix()
        if rel not in selected:
            raise BuildError(
                f"{rel} defines the service {svc.name} but is not selected: check `include`/`exclude` "
                "and .bentoignore"
            )


@contextlib.contextmanager
def _arguments(arguments: dict[str, str] | None) -> Iterator[None]:
    """``bentoml.use_arguments()`` in the service sees the build's ``--arg`` values while it is imported."""
    import json
    import os

    from bento.core.server_info import ARGUMENTS_ENV

    if not arguments:
        yield
        return
    saved = os.environ.get(ARGUMENTS_ENV)
    os.environ[ARGUMENTS_ENV] = json.dumps({**json.loads(saved or "{}"), **arguments})
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(ARGUMENTS_ENV, None)
        else:
            os.environ[ARGUMENTS_ENV] = saved


def snake_case(name: str) -> str:
    """A bento's default name from its service name, by BentoML's rule: ``IrisClassifier`` →
    ``iris_classifier``, ``LLMService`` → ``llm_service``, ``iris_classifier`` unchanged."""
    import re

    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower()


def _model_refs(tags: list[str]) -> list[dict[str, str]]:
    if not tags:
        return []
    from bento.store import open_store

    store = open_store()
    refs: dict[str, dict[str, str]] = {}
    for tag in tags:
        item = store.models.get_checked(tag)  # never build on a model altered since it was saved
        refs[str(item.tag)] = {"tag": str(item.tag), "digest": item.digest}
    return [refs[k] for k in sorted(refs)]


def build_bento(
    project_dir: str | Path = ".",
    *,
    bentofile: str | Path | None = None,
    name: str | None = None,
    version: str | None = None,
    labels: dict[str, str] | None = None,
    vendor_wheels: bool | None = None,
    openapi: Callable[[Any], dict[str, Any]] | None = None,
    progress: Progress = _noop,
    arguments: dict[str, str] | None = None,
) -> BuildResult:
    """Build the project in ``project_dir`` into the store and return the new (or existing) bento."""
    import yaml

    from bento.core.version import __version__

    project = Path(project_dir).resolve()
    if not project.is_dir():
        raise InvalidConfig(f"project directory {project} does not exist")
    found = read_project(project, Path(bentofile) if bentofile else None)
    config, where = found.config, found.where
    warnings: list[str] = []

    progress("selecting files")
    selection = select_files(project, config.include, config.exclude)
    warnings += [f"{rel} is {size / 2**20:.1f} MiB; large files belong in the model store "
                 "(bento.models) or in `exclude`" for rel, size in selection.large]

    progress(f"importing {config.service}")
    with describe.isolated_import(project), _arguments(arguments):
        entry, services = describe.load_services(config.service, project)
        _check_sources_selected(services, project, selection.files)
        described = [describe.describe_service(s) for s in services]
        api_doc = openapi(entry) if openapi is not None else None
        tags = describe.model_tags(services)
    models = _model_refs([*tags, *config.models])
    setup_steps: bytes | None = None
    if entry.image is not None:
        config, setup_steps = images.apply_image(config, entry.image, project, where)
        where = f"{where} and @service(image=...)"

    python_version = config.target_python()
    vendored = config.python.vendor if vendor_wheels is None else vendor_wheels
    files: dict[str, FileContent] = {f"src/{rel}": path for rel, path in selection.files.items()}
    locked = _python_env(files, config, project, where, python_version, vendored, progress)
    if api_doc is not None:
        files["apis/openapi.yaml"] = yaml.safe_dump(api_doc, sort_keys=False).encode()
    gpu = any((s.config.resources.gpu or 0) > 0 for s in services)
    base = _docker_env(files, config, project, where, python_version, locked, vendored, gpu, bool(models),
                       setup_steps)

    bento_name = (name or config.name or snake_case(entry.name)).lower()
    description = read_description(found)
    files["README.md"] = (description or f"# {bento_name}\n\nA bento of the service `{entry.name}` "
                          f"(`{config.service}`), built with `bento build`.\n").encode()

    normalized = _normalized(config, python_version, vendored, base)
    all_labels = {**config.labels, **(labels or {})}
    extra: dict[str, Any] = {
        "service": config.service,
        "entry_service": entry.name,
        "services": described,
        "models": models,
        "envs": [e.model_dump(mode="json") for e in config.envs],
        "python_version": python_version,
        "build": normalized,
    }
    if arguments:  # `--arg`: served again with the bento (bentoml.use_arguments), part of its version
        extra["arguments"] = dict(sorted(arguments.items()))
    from bento.store import open_store

    store = open_store()
    if version is None:
        version = content_version(
            files, {"name": bento_name, "labels": all_labels, "bento_version": __version__, **extra})
        # The version hashes everything the bento holds: an existing one is this very bento.
        if store.bentos.exists(f"{bento_name}:{version}"):
            item = store.bentos.get(f"{bento_name}:{version}")
            return BuildResult(tag=str(item.tag), path=Path(item.path), existed=True, item=item,
                               warnings=warnings)
    progress(f"writing {bento_name}:{version}")
    with store.bentos.create(bento_name, version=version, labels=all_labels, metadata={}, extra=extra) as staged:
        for rel, content in sorted(files.items()):
            target = Path(staged.path_of(rel))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.read_bytes() if isinstance(content, Path) else content)
    item = staged.item
    return BuildResult(tag=str(item.tag), path=Path(item.path), existed=bool(staged.existed), item=item,
                       warnings=warnings)


def _python_env(files: dict[str, FileContent], config: BuildConfig, project: Path, where: str,
                python_version: str, vendored: bool, progress: Progress) -> lock.Lock:
    """Add ``env/python/``: the lock file, our own wheel, ``python.wheels``, vendored wheels."""
    # The bento carries the exact runtime that builds it; the index serves it only when asked for.
    own = None if config.python.bento_from_index else ownwheel.build_own_wheel()
    extra_reqs = ownwheel.dependencies()
    if own is None:
        extra_reqs.append(f"{ownwheel.DIST}=={ownwheel.running_version()}")
    progress(f"locking Python requirements for Python {python_version}" if config.python.lock_packages
             else "collecting Python requirements")
    locked = lock.lock_requirements(lock.requirement_lines(config.python, project, extra_reqs),
                                    config.python, python_version)
    files["env/python/requirements.lock.txt"] = locked.text.encode()
    if own is not None:
        files[f"env/python/local/{own.filename}"] = own.data
    for wheel in config.python.wheels:
        path = inside_project(project, wheel, "python.wheels")
        if not path.is_file() or not path.name.endswith(".whl"):
            raise InvalidConfig(f"`python.wheels` in {where}: {wheel} is not a wheel file in the project")
        files[f"env/python/local/{path.name}"] = path
    if vendored:
        progress("downloading wheels for the target platform")
        for filename, data in vendor.download_wheels(locked.text, python_version, pinned=locked.hashed).items():
            files[f"env/python/wheels/{filename}"] = data
    return locked


def _docker_env(files: dict[str, FileContent], config: BuildConfig, project: Path, where: str,
                python_version: str, locked: lock.Lock, vendored: bool, gpu: bool, has_models: bool,
                setup_steps: bytes | None = None) -> str:
    """Add ``env/docker/``: the Dockerfile, its entrypoint and setup script. Returns the base image."""
    if setup_steps is not None:
        files["env/docker/setup_script"] = setup_steps
    elif config.docker.setup_script:
        script = inside_project(project, config.docker.setup_script, "docker.setup_script")
        if not script.is_file():
            raise InvalidConfig(f"`docker.setup_script` in {where}: {script} does not exist")
        files["env/docker/setup_script"] = script
    base, install_python = dockerfile.resolve_base(
        python_version, config.docker.base_image, config.docker.cuda_version, gpu)
    env_pairs = [(e.name, e.value) for e in config.envs if e.value is not None]
    env_pairs += sorted(config.docker.env.items())
    spec = dockerfile.DockerSpec(
        python_version=python_version,
        base_image=base,
        install_python=install_python,
        system_packages=tuple(config.docker.system_packages),
        setup_script="env/docker/setup_script" in files,
        env=tuple(env_pairs),
        hashed_lock=locked.hashed,
        vendored=vendored,
        local_wheels=any(k.startswith("env/python/local/") for k in files),
        pip_args=config.python.pip_args or "",
        has_models=has_models,
        has_apis="apis/openapi.yaml" in files,
    )
    files["env/docker/Dockerfile"] = dockerfile.render(spec).encode()
    files["env/docker/entrypoint.sh"] = dockerfile.entrypoint_script().encode()
    return base


def _normalized(config: BuildConfig, python_version: str, vendored: bool, base: str) -> dict[str, Any]:
    """The build configuration with every default and derived value filled in."""
    data = config.model_dump(mode="json")
    data["docker"]["python_version"] = python_version
    data["docker"]["base_image"] = base
    data["python"]["vendor"] = vendored
    return data
