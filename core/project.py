"""The one reader of a project's build file and of a built bento's manifest.

``bento serve``, ``bento build`` and ``bento containerize`` all find their input here, so a project that
one command accepts the others accept too.

A project directory's build file is the first of, in order::

    bentofile.yaml                      the usual one
    bentofile.yml                       the same, with the other YAML suffix
    pyproject.toml [tool.bento]         our table
    pyproject.toml [tool.bentoml.build] BentoML's table, read unchanged

From pyproject.toml, ``[project] name`` is the default bento name and ``[project] dependencies`` go into
the bento's Python environment (before ``python.packages``), as BentoML does.

A bento directory holds ``bento.yaml``: the store's manifest, with the build's keys (``service``,
``envs``, ``models``, ``build``...) at the top level. Every problem is an :class:`InvalidConfig` that names
the file and, where there is one, the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bento.core.bentofile import BuildConfig
from bento.core.config import parse_config
from bento.core.errors import InvalidConfig, NotFound, UnsafePath

BENTOFILE_NAMES = ("bentofile.yaml", "bentofile.yml")
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLES = (("bento",), ("bentoml", "build"))
MANIFEST = "bento.yaml"


@dataclass(frozen=True)
class Project:
    """A project directory and its validated build file."""

    directory: Path
    config: BuildConfig
    source: Path  # the file the config came from
    where: str  # the file (and table) for messages: "bentofile.yaml", "pyproject.toml [tool.bento]"

    @property
    def service(self) -> str:
        return self.config.service


@dataclass(frozen=True)
class BentoManifest:
    """The keys of a built bento's ``bento.yaml`` that serving and containerizing need."""

    directory: Path
    name: str
    version: str
    digest: str
    service: str | None
    envs: dict[str, str]  # the build's `envs` with a value: defaults for the server's environment
    models: tuple[tuple[str, str], ...]  # (tag, digest)
    data: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def where(self) -> Path:
        return self.directory / MANIFEST


def is_bento(directory: Path) -> bool:
    """Whether ``directory`` is a built bento (it holds ``bento.yaml``)."""
    return (directory / MANIFEST).is_file()


def find_project(directory: Path, bentofile: Path | None = None) -> Project | None:
    """The project in ``directory``, or ``None`` when it has no build file (see the module docstring).

    ``bentofile`` names the build file explicitly (relative to ``directory``); it must then exist.
    """
    if bentofile is not None:
        path = bentofile if bentofile.is_absolute() else directory / bentofile
        if not path.is_file():
            raise InvalidConfig(f"build file {path} does not exist")
        if path.suffix == ".toml":
            found = _from_pyproject(directory, path)
            if found is None:
                raise InvalidConfig(f"{path} has no [tool.bento] table")
            return found
        return _validated(directory, path, path.name, _read_yaml(path))
    for name in BENTOFILE_NAMES:
        path = directory / name
        if path.is_file():
            return _validated(directory, path, name, _read_yaml(path))
    if (directory / PYPROJECT).is_file():
        return _from_pyproject(directory, directory / PYPROJECT)
    return None


def read_project(directory: Path, bentofile: Path | None = None) -> Project:
    """Like :func:`find_project`, but a directory without a build file is an error saying how to add one."""
    project = find_project(directory, bentofile)
    if project is None:
        raise InvalidConfig(
            f"no bentofile.yaml in {directory} (and no [tool.bento] in pyproject.toml); create one, e.g.\n"
            '  service: "service:MyService"'
        )
    return project


def inside_project(root: Path, path: str | os.PathLike[str], key: str) -> Path:
    """``path`` (relative to the project ``root``) with every symbolic link resolved; refuses leaving ``root``.

    ``key`` names where the path came from (``docker.setup_script``) in the error.
    """
    raw = Path(path)
    if raw.is_absolute():
        raise UnsafePath(f"`{key}` is the absolute path {path}; a build reads only files inside the project "
                         f"{root}, so give a path relative to it")
    base = root.resolve()
    target = (base / raw).resolve()
    if target != base and not target.is_relative_to(base):
        via = "" if str(target) == os.path.normpath(base / raw) else f" (through a symbolic link, to {target})"
        raise UnsafePath(f"`{key}` names {path}, which is outside the project {root}{via}; a build reads only "
                         "files inside the project: copy the file into it")
    return target


def read_description(project: Project) -> str | None:
    """The description text (``file:PATH`` reads the file, relative to the project, never outside it)."""
    text = project.config.description
    if text is not None and text.startswith("file:"):
        path = inside_project(project.directory, text[len("file:"):].strip(), "description")
        if not path.is_file():
            raise InvalidConfig(f"`description` in {project.where} points to {path}, which does not exist")
        return path.read_text(encoding="utf-8")
    return text


def read_bento_manifest(directory: Path) -> BentoManifest:
    """Read ``bento.yaml`` of the bento directory ``directory``; a missing or odd manifest is a named error."""
    path = directory / MANIFEST
    if not path.is_file():
        raise NotFound(f"{directory} is not a bento: it has no {MANIFEST}; build one with `bento build`")
    data = _read_yaml(path) or {}
    if not isinstance(data, dict):
        raise InvalidConfig(f"{path} is not a mapping of keys; rebuild the bento")
    for key in ("name", "version"):
        if not isinstance(data.get(key), (str, int, float)) or str(data[key]) == "":
            raise InvalidConfig(f"{path} lacks `{key}`; rebuild the bento")
    service = data.get("service")
    if service is not None and (not isinstance(service, str) or not service):
        raise InvalidConfig(f"`service` in {path} must be an import string like \"service:MyService\"")
    envs: dict[str, str] = {}
    for i, entry in enumerate(_listed(data, "envs", path)):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise InvalidConfig(f"`envs[{i}]` in {path} has no `name`; rebuild the bento")
        if entry.get("value") is not None:
            envs[str(entry["name"])] = str(entry["value"])
    models: list[tuple[str, str]] = []
    for i, entry in enumerate(_listed(data, "models", path)):
        if not isinstance(entry, dict) or not entry.get("tag"):
            raise InvalidConfig(f"`models[{i}]` in {path} has no `tag`; rebuild the bento")
        models.append((str(entry["tag"]), str(entry.get("digest") or "")))
    return BentoManifest(directory=directory, name=str(data["name"]), version=str(data["version"]),
                         digest=str(data.get("digest") or ""), service=service, envs=envs,
                         models=tuple(models), data=data)


def _listed(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidConfig(f"`{key}` in {path} must be a list; rebuild the bento")
    return value


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidConfig(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidConfig(f"{path.name} is not valid YAML{where}: {problem}") from None


def _from_pyproject(directory: Path, path: Path) -> Project | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidConfig(f"{path.name} is not valid TOML: {exc}") from None
    for keys in PYPROJECT_TABLES:
        table: Any = data.get("tool", {})
        for key in keys:
            table = table.get(key) if isinstance(table, dict) else None
        if table is not None:
            where = f"{path.name} [tool.{'.'.join(keys)}]"
            return _validated(directory, path, where, _with_project_table(table, data.get("project"), where))
    return None


def _with_project_table(table: Any, project: Any, where: str) -> Any:
    """Use ``[project]`` as BentoML does: ``name`` is the default bento name and ``dependencies`` are
    installed in the bento's environment (before ``python.packages``)."""
    if not isinstance(table, dict) or not isinstance(project, dict):
        return table
    table = dict(table)
    if "name" not in table and isinstance(project.get("name"), str):
        table["name"] = project["name"]
    deps = project.get("dependencies") or []
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise InvalidConfig(f"[project] dependencies in {where.split()[0]} must be a list of requirement strings")
    if deps:
        python = table.get("python")
        python = dict(python) if isinstance(python, dict) else {}
        packages = python.get("packages") or []
        packages = [packages] if isinstance(packages, str) else list(packages)
        python["packages"] = [*deps, *(p for p in packages if p not in deps)]
        table["python"] = python
    return table


def _validated(directory: Path, path: Path, where: str, data: Any) -> Project:
    if data is not None and not isinstance(data, dict):
        raise InvalidConfig(f"{where} must be a mapping of keys (service, include, python, ...)")
    config: BuildConfig = parse_config(BuildConfig, data, where)
    return Project(directory=directory, config=config, source=path, where=where)
