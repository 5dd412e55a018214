"""A published, immutable item of the store (a model or a bento) and its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bento.store import manifest as _manifest
from bento.core.errors import IntegrityError
from bento.store.paths import safe_join


class Item:
    """One ``<kind>s/<name>/<version>/`` directory with its ``<kind>.yaml`` manifest.

    ``info`` is the manifest (read on first use); ``digest`` covers the file contents only.
    """

    def __init__(self, kind: str, name: str, version: str, path: Path, info: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.name = name
        self.version = version
        self.path = path
        self._info = info

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def manifest_name(self) -> str:
        return f"{self.kind}.yaml"

    @property
    def manifest_path(self) -> Path:
        return self.path / self.manifest_name

    def path_of(self, rel: str) -> Path:
        """The absolute path of a file inside the item; refuses paths that would leave it."""
        return safe_join(self.path, rel, what=f"path inside {self.kind} {self.tag}")

    @property
    def info(self) -> dict[str, Any]:
        if self._info is None:
            try:
                self._info = _manifest.load(self.manifest_path)
            except FileNotFoundError:
                raise IntegrityError(f"{self.kind} {self.tag}: manifest {self.manifest_path} is missing") from None
        return self._info

    @property
    def digest(self) -> str:
        return str(self.info["digest"])

    @property
    def size(self) -> int:
        return int(self.info.get("size", 0))

    @property
    def labels(self) -> dict[str, Any]:
        return dict(self.info.get("labels") or {})

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.info.get("metadata") or {})

    @property
    def creation_time(self) -> str:
        return str(self.info.get("creation_time", ""))

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.info["files"])

    def problems(self, *, deep: bool = True, progress: _manifest.Progress | None = None) -> list[str]:
        """Missing, extra or altered files (empty when intact). ``deep=False`` skips re-hashing."""
        try:
            info = _manifest.load(self.manifest_path)
        except FileNotFoundError:
            return [f"manifest {self.manifest_name} is missing"]
        except IntegrityError as exc:
            return [str(exc)]
        out = []
        if info.get("name") != self.name or info.get("version") != self.version:
            out.append(f"manifest names {info.get('name')}:{info.get('version')}, stored as {self.tag}")
        return out + _manifest.problems(self.path, info, self.manifest_name, deep=deep, progress=progress)

    def check(self, *, deep: bool = False) -> None:
        """Raise IntegrityError if the item was altered (by default a cheap name-and-size check)."""
        found = self.problems(deep=deep)
        if found:
            hint = (f"run `bento models verify {self.tag}` for details" if self.kind == "model"
                    else "rebuild it or import it again")
            raise IntegrityError(f"{self.kind} {self.tag} at {self.path} was altered: {'; '.join(found[:3])} ({hint})")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary for listings."""
        info = self.info
        return {
            "tag": self.tag,
            "name": self.name,
            "version": self.version,
            "path": str(self.path),
            "size": info.get("size"),
            "creation_time": info.get("creation_time"),
            "labels": info.get("labels") or {},
            "digest": info.get("digest"),
        }

    def __repr__(self) -> str:
        return f"<{self.kind} {self.tag} at {self.path}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Item) and (self.kind, self.tag, self.path) == (other.kind, other.tag, other.path)

    def __hash__(self) -> int:
        return hash((self.kind, self.tag))
