"""``bento.images.Image``: the build environment of a service, declared in Python.

``@bento.service(image=Image(python_version="3.11").python_packages("numpy"))`` is another way to write
the ``python:`` and ``docker:`` sections of bentofile.yaml; ``bento build`` turns it into exactly those
settings (same lock, same Dockerfile steps, same reproducible version). The methods chain::

    image = (Image(python_version="3.11", lock_python_packages=True)
             .system_packages("curl")
             .python_packages("numpy>=1.26", "scikit-learn")
             .requirements_file("requirements.txt")
             .run("echo built > /etc/built-by")
             .run_script("scripts/setup.sh"))

``run`` commands and ``run_script`` files run in order, as root, while the image is built (they become
the bento's setup script). Paths are relative to the project directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bento.core.errors import InvalidConfig


@dataclass
class Image:
    python_version: str | None = None
    distro: str = "debian"
    lock_python_packages: bool = True
    base_image: str | None = None
    packages: list[str] = field(default_factory=list)
    requirements: str | None = None
    system: list[str] = field(default_factory=list)
    #: ("run", command) or ("script", path), in the order they were added.
    steps: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.distro != "debian":
            raise InvalidConfig(f"Image(distro={self.distro!r}): only `debian` is supported")
        if self.python_version is not None:
            self.python_version = str(self.python_version)

    def python_packages(self, *packages: str) -> Image:
        self.packages.extend(_strings(packages, "python_packages"))
        return self

    def requirements_file(self, path: str) -> Image:
        if self.requirements is not None:
            raise InvalidConfig("Image.requirements_file() was given twice; merge the files into one")
        self.requirements = _strings((path,), "requirements_file")[0]
        return self

    def system_packages(self, *packages: str) -> Image:
        self.system.extend(_strings(packages, "system_packages"))
        return self

    def run(self, command: str) -> Image:
        self.steps.append(("run", _strings((command,), "run")[0]))
        return self

    def run_script(self, path: str) -> Image:
        self.steps.append(("script", _strings((path,), "run_script")[0]))
        return self

    def build_options(self) -> dict[str, Any]:
        """The bentofile ``python`` and ``docker`` sections this image stands for (no setup script:
        the builder renders :attr:`steps` into one)."""
        python: dict[str, Any] = {"packages": list(self.packages), "lock_packages": self.lock_python_packages}
        if self.requirements is not None:
            python["requirements_txt"] = self.requirements
        docker: dict[str, Any] = {"distro": self.distro, "system_packages": list(self.system)}
        if self.python_version is not None:
            docker["python_version"] = self.python_version
        if self.base_image is not None:
            docker["base_image"] = self.base_image
        return {"python": python, "docker": docker}


def _strings(values: tuple[Any, ...], method: str) -> list[str]:
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise InvalidConfig(f"Image.{method}() takes non-empty strings, not {value!r}")
    return [v.strip() for v in values]
