"""``import bentoml`` gives ``bento`` wherever Bento is installed and the real BentoML is not.

Two finders on ``sys.meta_path``:

* :class:`TopLevel` sits **last**, so Python asks it for ``bentoml`` only after every other finder (the
  path finder included) found nothing: an installed BentoML always wins, whenever it was installed.
* :class:`Submodules` sits **first** and answers ``bentoml.X`` only while ``sys.modules["bentoml"]`` is our
  package, mapping it to one module (``bento.X``, or the place named in :data:`RENAMES`), so that
  ``bentoml.models`` *is* ``bento.models`` rather than a second copy loaded from the same file.

Every Python process gets them from ``bento-bentoml.pth`` (installed with the distribution at the top of
site-packages, see ``setup.py``): its one line appends a stub that imports this module only when something
imports ``bentoml`` and nothing else provided it. Standard library only; nothing here imports ``bento``
until an import of ``bentoml`` asks for it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any, Sequence

# BentoML module names whose counterpart is not ``bento.<same name>``.
FRAMEWORKS = ("sklearn", "picklable_model", "xgboost", "lightgbm", "pytorch", "onnx", "transformers")
RENAMES: dict[str, str] = {f"bentoml.{name}": f"bento.frameworks.{name}" for name in FRAMEWORKS}


def target_of(fullname: str) -> str:
    """The ``bento`` module that the BentoML module ``fullname`` is served as."""
    return RENAMES.get(fullname) or "bento" + fullname[len("bentoml"):]


class _Alias(importlib.abc.Loader):
    """Loads a spec by importing the module its ``loader_state`` names, leaving that module unchanged."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(spec.loader_state)
        spec.loader_state = (spec.loader_state, getattr(module, "__spec__", None))
        return module

    def get_code(self, fullname: str) -> Any:
        """For ``python -m bentoml``: the code of the module the alias stands for."""
        spec = importlib.util.find_spec(target_of(fullname))
        return spec.loader.get_code(spec.name) if spec is not None and spec.loader is not None else None  # type: ignore[attr-defined]

    def exec_module(self, module: ModuleType) -> None:
        # module_from_spec gave the module our alias spec; give it its own back (pickling, reload, -m).
        spec = module.__spec__
        if spec is not None and isinstance(spec.loader_state, tuple):
            module.__spec__ = spec.loader_state[1]


_LOADER = _Alias()


def _spec(fullname: str, real: str) -> importlib.machinery.ModuleSpec | None:
    try:
        found = importlib.util.find_spec(real)
    except (ImportError, ValueError):
        return None
    if found is None:
        return None
    return importlib.machinery.ModuleSpec(fullname, _LOADER, loader_state=real,
                                          is_package=found.submodule_search_locations is not None)


def _ours() -> bool:
    module = sys.modules.get("bentoml")
    return module is not None and getattr(module, "__name__", "") == "bento"


class TopLevel(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: ``bentoml`` when no real BentoML was found before us."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != "bentoml":
            return None
        install()  # the stub of the .pth file may have sent us here: put the submodule finder in front
        return _spec(fullname, "bento")


class Submodules(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``: ``bentoml.X`` while ``bentoml`` is our package (one module per name)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if not fullname.startswith("bentoml.") or not _ours():
            return None
        return _spec(fullname, target_of(fullname))


def find_spec(fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> Any:
    """What the stub of ``bento-bentoml.pth`` calls when asked for ``bentoml`` (it is last in line)."""
    return TopLevel().find_spec(fullname, path, target)


def install() -> None:
    """Put both finders in place once (idempotent); the real BentoML keeps precedence."""
    if not any(isinstance(f, Submodules) for f in sys.meta_path):
        sys.meta_path.insert(0, Submodules())
    if not any(isinstance(f, TopLevel) for f in sys.meta_path):
        sys.meta_path.append(TopLevel())


def is_real_bentoml_installed() -> bool:
    """True when an importable ``bentoml`` exists that is not this alias."""
    module = sys.modules.get("bentoml")
    if module is not None:
        return not _ours()
    for finder in sys.meta_path:
        if isinstance(finder, (TopLevel, Submodules)) or getattr(finder, "__bento_alias__", False):
            continue
        find = getattr(finder, "find_spec", None)
        if find is not None and find("bentoml", None) is not None:
            return True
    return False
