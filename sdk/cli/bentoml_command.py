"""The ``bentoml`` command, for environments where the real BentoML is not installed.

It is not part of the ``bento`` distribution: installing Bento never touches a ``bentoml`` command that
BentoML installed. The tiny distribution in ``packaging/bentoml-command/`` declares it, for users who want
the spelling of BentoML's tutorials and CI scripts. Should the real BentoML be importable anyway (installed
later, or in the same environment), this command hands over to BentoML's own CLI, so the name always means
BentoML where BentoML is.
"""

from __future__ import annotations

import importlib.util
from typing import Any


def real_bentoml_cli() -> Any:
    """BentoML's own click group when the real BentoML is installed, else None."""
    from bento.core import alias

    if not alias.is_real_bentoml_installed() or importlib.util.find_spec("bentoml_cli") is None:
        return None
    from bentoml_cli.cli import cli  # type: ignore[import-not-found]

    return cli


def main() -> Any:
    real = real_bentoml_cli()
    if real is not None:
        return real()
    from bento.cli import main as bento_main

    return bento_main(prog_name="bentoml")
