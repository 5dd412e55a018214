"""A bento's Dockerfile, rendered from small ordered steps (``templates/Dockerfile.j2``).

The order of :data:`STEPS` is the caching strategy: what changes least comes first, so a code-only change
rebuilds only the last layers, and a model is copied once in its own layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

DEFAULT_CUDA_VERSION = "12.4.1"

STEPS: tuple[str, ...] = (
    "header",
    # The base image and environment shared by both stages.
    "base",
    # CUDA images ship no (or the wrong) Python: install the configured one first; it never changes.
    "cuda_python",
    # apt packages change rarely and take long: before anything Python.
    "system_packages",
    "user",
    # A separate stage builds the virtualenv, invalidated only by the lock file (and vendored wheels);
    # the final image copies just the venv, so wheels and pip caches never reach its layers.
    "python_env",
    "final",
    # The setup script may use the Python packages, so it runs after them.
    "setup_script",
    "entrypoint",
    # Models: large and stable, their own layer, before the source.
    "models",
    # Source last: a code-only change rebuilds only this layer and the metadata below.
    "source",
    "runtime",
)


@dataclass(frozen=True)
class DockerSpec:
    """Everything that decides the Dockerfile text. Nothing in it depends on time or on the machine."""

    python_version: str
    base_image: str  # the resolved base
    install_python: bool  # install python{python_version} on the base (CUDA images)
    system_packages: tuple[str, ...] = ()
    setup_script: bool = False
    env: tuple[tuple[str, str], ...] = ()
    hashed_lock: bool = True
    vendored: bool = False
    local_wheels: bool = False
    pip_args: str = ""
    has_models: bool = False
    has_apis: bool = False

    @property
    def install_flags(self) -> str:
        flags = []
        if self.vendored:
            flags += ["--no-index", "--find-links", "/opt/bento/python/wheels"]
        if self.hashed_lock:
            # The lock pins every package with hashes: nothing else may be resolved or installed.
            flags += ["--no-deps", "--require-hashes"]
        if self.pip_args:
            flags.append(self.pip_args)
        return " ".join(flags)


def resolve_base(python_version: str, base_image: str | None, cuda_version: str | None,
                 gpu: bool) -> tuple[str, bool]:
    """The base image and whether Python must be installed on it.

    ``docker.base_image`` wins (it must provide python3 with venv); then CUDA (``docker.cuda_version``, or a
    service asking for GPUs); else the official slim Python image.
    """
    if base_image:
        return base_image, False
    if cuda_version or gpu:
        return f"nvidia/cuda:{cuda_version or DEFAULT_CUDA_VERSION}-cudnn-runtime-ubuntu22.04", True
    return f"python:{python_version}-slim", False


def _dq(value: str) -> str:
    """A double-quoted Dockerfile value: JSON string escapes, and ``$`` escaped so Docker does not expand it."""
    return json.dumps(value).replace("$", "\\$")


def render(spec: DockerSpec) -> str:
    import jinja2

    source = resources.files("bento.templates").joinpath("Dockerfile.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters["tojson"] = _dq
    module: Any = env.from_string(source).module
    parts = [str(getattr(module, step)(spec)).strip("\n") for step in STEPS]
    return "\n\n".join(p for p in parts if p.strip()) + "\n"


def entrypoint_script() -> str:
    return resources.files("bento.templates").joinpath("entrypoint.sh").read_text(encoding="utf-8")
