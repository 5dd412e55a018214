"""Copying an item into another store root is verified and repeatable."""

from __future__ import annotations

from pathlib import Path

from bento.store import open_store


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_copying_the_same_item_twice_gives_identical_store_trees(tmp_path: Path) -> None:
    # A Docker build context materializes models this way; identical bytes keep the models layer cached.
    source = open_store(tmp_path / "home")
    with source.models.create("weights") as staged:
        staged.path_of("w.bin").write_bytes(b"\x00\x01" * 5000)
        staged.path_of("sub/cfg.json").write_text('{"a": 1}')
    first, second = open_store(tmp_path / "ctx1"), open_store(tmp_path / "ctx2")
    copied = first.models.copy_in(staged.item)
    second.models.copy_in(staged.item)
    assert copied.digest == staged.item.digest
    assert _tree(tmp_path / "ctx1") == _tree(tmp_path / "ctx2")
    assert first.models.get_checked("weights:latest").path_of("w.bin").read_bytes() == b"\x00\x01" * 5000
