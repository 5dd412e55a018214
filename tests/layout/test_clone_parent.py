"""Python started in the directory *above* a clone named ``bento/`` imports the installed package.

The clone folder has no ``__init__.py``, so Python's path finder would take it for a namespace package
named ``bento`` before an editable install's finder is asked (``module 'bento' has no attribute
'models'``). The second line of ``bento-bentoml.pth`` puts a finder first that, for ``bento`` only,
prefers a regular package from any other finder over such a namespace folder.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_folder_named_bento_in_the_working_directory_does_not_shadow_the_package(tmp_path: Path) -> None:
    clone = tmp_path / "bento"  # what `git clone .../bento` leaves in the parent directory
    for layer in ("core", "sdk", "store", "runtime"):
        (clone / layer).mkdir(parents=True)
    (clone / "pyproject.toml").write_text("[project]\nname = 'bento-serve'\n")
    code = "import bento, bentoml; print(bento.models.__name__, bentoml.models is bento.models, bento.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    name, same, origin = out.stdout.split()
    assert (name, same) == ("bento.models", "True") and not origin.startswith(str(clone))


def test_the_startup_hook_is_installed_with_the_package() -> None:
    import site

    hooks = [Path(p) / "bento-bentoml.pth" for p in site.getsitepackages()]
    text = next(h.read_text() for h in hooks if h.is_file())
    assert "BentoRegularFirst" in text and "BentomlAliasStub" in text
