"""The folders are the architecture: which layer may import which (docs/architecture.md).

Every ``import bento.X`` / ``from bento.X import`` in a layer's source, at module level or inside a
function or an ``if TYPE_CHECKING:`` block, must name a layer that this one stands on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# folder -> the package it is mapped to, and the layers (by package) it may import.
LAYERS: dict[str, tuple[str, set[str]]] = {
    "core": ("bento.core", {"bento.core"}),
    "store": ("bento.store", {"bento.core", "bento.store"}),
    "runtime": ("bento.runtime", {"bento.core", "bento.store", "bento.runtime"}),
    "builder": ("bento.builder", {"bento.core", "bento.store", "bento.builder", "bento.templates"}),
    "templates": ("bento.templates", {"bento.templates"}),
    # Deployments to cluster engines: plans from a bento, builds its image when missing.
    "deploy": ("bento.deploy", {"bento.core", "bento.store", "bento.builder", "bento.templates", "bento.deploy"}),
    # The SDK and CLI sit on top: they may use every layer.
    "sdk": ("bento", {"bento"}),
}


def _layer_of(module: str) -> str:
    """``bento.core.errors`` -> ``bento.core``; ``bento.models`` (an SDK module) -> ``bento``."""
    parts = module.split(".")
    if len(parts) >= 2 and f"bento.{parts[1]}" in {pkg for pkg, _ in LAYERS.values()}:
        return f"bento.{parts[1]}"
    return "bento"


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "bento"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                rel = path.relative_to(ROOT).with_suffix("").parts[1:]
                base = package.split(".") + list(rel[: len(rel) - node.level])
                target = ".".join(base + ([node.module] if node.module else []))
                found.append((node.lineno, target))
            elif node.module and node.module.split(".")[0] == "bento":
                if node.module == "bento":  # `from bento import models` names SDK modules
                    found += [(node.lineno, f"bento.{a.name}") for a in node.names]
                else:
                    found.append((node.lineno, node.module))
    return found


def test_every_source_folder_is_a_mapped_layer() -> None:
    import tomllib

    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    assert {folder: pkg for pkg, folder in mapping.items()} == {f: pkg for f, (pkg, _) in LAYERS.items()}
    # No top-level folder is named like the package: it would shadow an installed `bento`.
    assert not (ROOT / "bento").exists()


@pytest.mark.parametrize("folder", sorted(LAYERS))
def test_layer_imports_only_what_it_stands_on(folder: str) -> None:
    package, allowed = LAYERS[folder]
    crossings = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for lineno, module in _imports(path, package):
            layer = _layer_of(module)
            if "bento" in allowed or layer in allowed:
                continue
            crossings.append(f"{path.relative_to(ROOT)}:{lineno} imports {module} ({layer})")
    assert crossings == []


def test_grain_checker_sees_a_crossing(tmp_path: Path) -> None:
    """The checker itself: a lazy import of the SDK inside a function is found."""
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from bento.client import SyncHTTPClient\n    import bento.runtime.app\n")
    layers = {_layer_of(m) for _, m in _imports(src, "bento.core")}
    assert layers == {"bento", "bento.runtime"}


def test_every_subpackage_is_packaged() -> None:
    """A folder with an ``__init__.py`` under a layer must be in ``packages``, or a wheel leaves it out."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {folder: pkg for pkg, folder in setuptools["package-dir"].items()}
    expected = set()
    for folder, pkg in folders.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            expected.add(".".join([pkg, *rel]))
    assert expected - set(setuptools["packages"]) == set()
