"""``bento env`` (BentoML's ``bentoml env``): what a bug report needs about this environment."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Any

import click

from bento.cli.output import emit, output_option

PACKAGES = ("bento-serve", "pydantic", "starlette", "uvicorn", "numpy", "scikit-learn", "torch", "transformers")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def describe() -> dict[str, Any]:
    from bento.core import alias
    from bento.store.paths import default_home

    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "store": str(default_home()),
        "bentoml": "the real BentoML" if alias.is_real_bentoml_installed() else "alias of bento",
        "packages": {name: v for name in PACKAGES if (v := _version(name)) is not None},
    }


@click.command()
@output_option("the environment")
def env(output: str) -> None:
    """Show the environment: Python, platform, the store, what `import bentoml` gives, package versions."""
    info = describe()

    def text() -> None:
        for key, value in info.items():
            if key == "packages":
                for name, version in value.items():
                    click.echo(f"{name}: {version}")
            else:
                click.echo(f"{key}: {value}")

    emit(info, output, text, tag_key="python")  # `-o tag`: just the Python version
