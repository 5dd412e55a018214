"""The typed build file: every key ``bentofile.yaml`` (or ``[tool.bento]`` / ``[tool.bentoml.build]`` in
``pyproject.toml``) accepts, as one :class:`BuildConfig`.

Finding and reading the file is ``bento.core.project``'s job; unknown keys and wrong types fail there with
the key's path and a suggested fix (``bento.core.config.parse_config``).
"""

from __future__ import annotations

import re
import sys
from typing import Any, Literal

from pydantic import Field, field_validator

from bento.core.config import EnvVar, Strict


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
    bento_from_index: bool = Field(
        False, description="Install bento-serve==<running version> from the index instead of bundling "
                           "the running bento as a wheel")

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
