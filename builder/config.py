"""The build configuration: ``bentofile.yaml``, ``[tool.bento]`` or ``[tool.bentoml.build]`` in
``pyproject.toml``, validated into one typed :class:`BuildConfig`.

Unknown keys and wrong types fail with the key's path and a suggested fix (``bento.core.config.parse_config``).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from bento.core.config import EnvVar, Strict, parse_config
from bento.core.errors import InvalidConfig

BENTOFILE_NAMES = ("bentofile.yaml", "bentofile.yml")


class PythonOptions(Strict):
    packages: list[str] = Field(default_factory=list, description='Requirements, e.g. "numpy>=1.26"')
    requirements_txt: str | None = Field(None, description="A requirements file, relative to the project")
    lock_packages: bool = Field(True, description="Resolve and pin every package with hashes (uv)")
    index_url: str | None = None
    extra_index_url: list[str] = Field(default_factory=list)
    find_links: list[str] = Field(default_factory=list)
    wheels: list[str] = Field(default_factory=list, description="Local wheel files bundled into the bento")
    pip_args: str | None = Field(None, description="Extra arguments for `pip install` in the image")
    vendor: bool = Field(False, description="Bundle the locked wheels so the image builds offline")

    @field_validator("extra_index_url", "find_links", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class DockerOptions(Strict):
    distro: Literal["debian"] | None = Field(None, description="Only `debian` (the default) is supported")
    python_version: str | None = Field(None, description='Target Python, e.g. "3.11"; default: the building one')
    cuda_version: str | None = Field(None, description='e.g. "12.4.1"; selects an nvidia/cuda base image')
    system_packages: list[str] = Field(default_factory=list, description="apt packages installed in the image")
    setup_script: str | None = Field(None, description="A script run as root while the image is built")
    base_image: str | None = Field(None, description="Replaces the base image (must provide python3 + venv)")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables set in the image")

    @field_validator("python_version", mode="before")
    @classmethod
    def _python_version(cls, value: Any) -> Any:
        if isinstance(value, float):  # `python_version: 3.11` in YAML is a float
            value = str(value)
        if isinstance(value, str) and not re.fullmatch(r"3\.\d{1,2}", value):
            raise ValueError('write the Python version as "3.X", e.g. "3.11"')
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_list(cls, value: Any) -> Any:
        # BentoML also accepts a list of "KEY=VALUE" strings.
        if isinstance(value, list) and all(isinstance(v, str) and "=" in v for v in value):
            return dict(v.split("=", 1) for v in value)
        return value


class BuildConfig(Strict):
    """Everything ``bentofile.yaml`` accepts; only ``service`` is required."""

    service: str = Field(description='Import string of the entry service, e.g. "service:MyService"')
    name: str | None = Field(None, description="Bento name; defaults to the service name, lowercased")
    description: str | None = Field(None, description='Text, or "file:README.md" to read a file')
    labels: dict[str, str] = Field(default_factory=dict)
    include: list[str] = Field(default_factory=lambda: ["*"], description="gitignore-style patterns")
    exclude: list[str] = Field(default_factory=list, description="gitignore-style patterns")
    models: list[str] = Field(default_factory=list, description="Extra model tags to reference")
    envs: list[EnvVar] = Field(default_factory=list)
    python: PythonOptions = Field(default_factory=PythonOptions)
    docker: DockerOptions = Field(default_factory=DockerOptions)

    @field_validator("include", "exclude", "models", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("models", mode="before")
    @classmethod
    def _model_entries(cls, value: Any) -> Any:
        # BentoML allows {"tag": "name:version"} entries; keep the tag.
        if isinstance(value, list):
            return [v["tag"] if isinstance(v, dict) and set(v) <= {"tag", "alias", "filter"} and "tag" in v
                    else v for v in value]
        return value

    def target_python(self) -> str:
        """The Python version the bento is locked and built for."""
        return self.docker.python_version or f"{sys.version_info.major}.{sys.version_info.minor}"


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidConfig(f"{path.name} is not valid YAML{where}: {problem}") from None


def load_build_config(project_dir: Path, bentofile: Path | None = None) -> tuple[BuildConfig, str]:
    """Find and validate the build configuration of ``project_dir``.

    Returns the config and a short description of where it came from (for messages).
    """
    if bentofile is not None:
        path = bentofile if bentofile.is_absolute() else project_dir / bentofile
        if not path.is_file():
            raise InvalidConfig(f"build file {path} does not exist")
        if path.suffix == ".toml":
            return _from_pyproject(path)
        return _validate(_read_yaml(path), path.name), path.name
    for name in BENTOFILE_NAMES:
        if (project_dir / name).is_file():
            return _validate(_read_yaml(project_dir / name), name), name
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        found = _from_pyproject(pyproject, required=False)
        if found is not None:
            return found
    raise InvalidConfig(
        f"no bentofile.yaml in {project_dir} (and no [tool.bento] in pyproject.toml); create one, e.g.\n"
        '  service: "service:MyService"'
    )


def _from_pyproject(path: Path, required: bool = True) -> Any:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidConfig(f"{path.name} is not valid TOML: {exc}") from None
    tool = data.get("tool", {})
    if "bento" in tool:
        where = f"{path.name} [tool.bento]"
        return _validate(tool["bento"], where), where
    bentoml = tool.get("bentoml", {})
    if isinstance(bentoml, dict) and "build" in bentoml:
        where = f"{path.name} [tool.bentoml.build]"
        return _validate(bentoml["build"], where), where
    if required:
        raise InvalidConfig(f"{path} has no [tool.bento] table")
    return None


def _validate(data: Any, where: str) -> BuildConfig:
    if data is not None and not isinstance(data, dict):
        raise InvalidConfig(f"{where} must be a mapping of keys (service, include, python, ...)")
    config: BuildConfig = parse_config(BuildConfig, data, where)
    return config


def read_description(config: BuildConfig, project_dir: Path) -> str | None:
    """The description text (``file:PATH`` reads the file, relative to the project)."""
    text = config.description
    if text is not None and text.startswith("file:"):
        path = project_dir / text[len("file:"):].strip()
        if not path.is_file():
            raise InvalidConfig(f"`description` points to {path}, which does not exist")
        return path.read_text(encoding="utf-8")
    return text
