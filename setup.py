"""Only what pyproject.toml cannot say: install ``bento-bentoml.pth`` at the top of site-packages.

Its one line lets ``import bentoml`` find Bento in every Python process of the environment (training
scripts, notebooks, pytest) when the real BentoML is not installed; see ``core/alias.py``.
"""

from __future__ import annotations

import os
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_SOURCE = os.path.join("core", "bento-bentoml.pth")
PTH_NAME = "bento-bentoml.pth"


class BuildPyWithStartupHook(build_py):
    """``build_py`` plus the ``.pth`` file at the root of the build (the wheel's purelib root)."""

    def run(self) -> None:
        super().run()
        self.copy_file(PTH_SOURCE, os.path.join(self.build_lib, PTH_NAME), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), os.path.join(self.build_lib, PTH_NAME)]


class _StrategyWithStartupHook:
    """Wraps setuptools' editable strategy: the editable wheel gets the ``.pth`` file as well."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, wheel: Any, files: list[str], mapping: dict[str, str]) -> None:
        self.inner(wheel, files, mapping)
        with open(PTH_SOURCE, "rb") as fh:
            wheel.writestr(PTH_NAME, fh.read())

    def __enter__(self) -> _StrategyWithStartupHook:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self.inner.__exit__(*exc)


class EditableWheelWithStartupHook(editable_wheel):
    """``pip install -e`` gets the hook too (setuptools' strategy hook; plain editable wheel if it moves)."""

    def _select_strategy(self, *args: Any, **kwargs: Any) -> Any:
        return _StrategyWithStartupHook(super()._select_strategy(*args, **kwargs))


setup(cmdclass={"build_py": BuildPyWithStartupHook, "editable_wheel": EditableWheelWithStartupHook})
