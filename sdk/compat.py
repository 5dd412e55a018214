"""Small BentoML names with a direct counterpart: ``bentoml.Tag``, ``bentoml.Field``, ``bentoml.IODescriptor``."""

from __future__ import annotations

from typing import Any

from bento.core.errors import InvalidArgument
from bento.store.tags import LATEST, new_version
from bento.store.tags import Tag as _StoreTag

__all__ = ["Field", "IODescriptor", "Tag"]


class Tag:
    """A model or bento tag, ``name:version`` (``version`` None means latest), as ``bentoml.Tag``."""

    def __init__(self, name: str, version: str | None = None) -> None:
        parsed = _StoreTag.parse(f"{name}:{version}" if version else name)
        self.name = parsed.name
        self.version = parsed.version

    @classmethod
    def from_str(cls, text: str) -> Tag:
        parsed = _StoreTag.parse(text)
        return cls(parsed.name, parsed.version)

    @classmethod
    def from_taglike(cls, value: Tag | str | Any) -> Tag:
        if isinstance(value, Tag):
            return value
        if isinstance(value, str):
            return cls.from_str(value)
        tag = getattr(value, "tag", None)  # a Model or Bento
        if isinstance(tag, str):
            return cls.from_str(tag)
        raise InvalidArgument(f"{value!r} is not a tag: use 'name:version'")

    def make_new_version(self) -> Tag:
        import datetime as _dt

        return Tag(self.name, new_version(_dt.datetime.now(_dt.timezone.utc)))

    def __str__(self) -> str:
        return f"{self.name}:{self.version}" if self.version else self.name

    def __repr__(self) -> str:
        return f"Tag(name={self.name!r}, version={self.version!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Tag.from_str(other)
        return isinstance(other, Tag) and (self.name, self.version or LATEST) == (other.name, other.version or LATEST)

    def __hash__(self) -> int:
        return hash((self.name, self.version or LATEST))


def __getattr__(name: str) -> Any:
    # pydantic loads only when a service uses these names (``import bento`` stays light).
    if name == "Field":
        from pydantic import Field

        return Field
    if name == "IODescriptor":
        from pydantic import BaseModel

        class IODescriptor(BaseModel):
            """Base class of an API's ``input_spec`` / ``output_spec`` model (a pydantic model)."""

        IODescriptor.__module__ = __name__
        globals()["IODescriptor"] = IODescriptor
        return IODescriptor
    raise AttributeError(f"module 'bento.compat' has no attribute {name!r}")
