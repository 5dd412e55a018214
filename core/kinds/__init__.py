"""The IO kinds registry: the one place that knows which kinds of API input and output exist.

Every layer asks a kind object instead of switching on its name: ``core.schema`` recognises a signature's
output kind (and upload parameters) with :func:`detect` / :func:`is_upload`; ``core.openapi`` and the
builder's manifest describe results with ``kind.response_content`` / ``kind.describe``; the runtime
encodes results with ``kind.encode`` and picks its transport glue (body, file, stream) by
``kind.transport``; the HTTP clients decode answers with ``kind.decode``.

Adding a kind (``image.py`` and ``frame.py`` are worked examples)
------------------------------------------------------------------
1. Write one module here, e.g. ``core/kinds/audio.py``, with a subclass of :class:`~bento.core.kinds.base.IOKind`:
   set ``name`` and ``default_content_type``; implement ``matches`` (is a return annotation of this kind?
   compare by module and class name so the framework stays an optional, lazily imported dependency),
   ``encode`` (result -> content type and bytes), ``describe`` (its JSON schema, usually binary) and
   ``decode`` (what a client makes of the bytes). Set ``upload = True`` and implement ``matches_param``
   if parameters of that type are sent as multipart files, ``param_hook`` (a pydantic marker reading and
   dumping values of a type pydantic does not know) and ``body_media`` / ``read_body`` if a whole request
   body of some media type can be the API's one parameter.
2. Add one line to :data:`BUILTIN` below (before ``JSONKind``, the catch-all), or call :func:`register`
   from a plug-in. Kinds are tried in order, so a specific kind must come before a general one.

Nothing in the runtime, the builder or the clients changes for a ``body`` kind; a new *transport* (a
result that is neither one body, a file nor a stream of items) is the only thing that needs runtime glue.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from bento.core.errors import InvalidConfig
from bento.core.kinds.base import IOKind, Transport
from bento.core.kinds.rows import Rows
from bento.core.kinds.plain import BytesKind, FileKind, JSONKind, TextKind
from bento.core.kinds.frame import FrameKind
from bento.core.kinds.image import ImageKind
from bento.core.kinds.stream import StreamKind

__all__ = ["IOKind", "Rows", "Transport", "detect", "get", "find", "register", "unregister", "is_upload", "names",
           "row_strategies", "param_hook", "body_kind"]

#: The built-in kinds, in the order a return annotation is tried against them (JSON last: it takes all).
BUILTIN: tuple[IOKind, ...] = (StreamKind(), TextKind(), FileKind(), BytesKind(), ImageKind(), FrameKind(),
                                JSONKind())

_KINDS: list[IOKind] = list(BUILTIN)
_ROWS: list[Rows] | None = None  # row_strategies(), rebuilt after a change


def register(kind: IOKind) -> IOKind:
    """Add ``kind`` (its name must be new); it is tried after the kinds already there and before the
    built-in catch-all ``json``."""
    if not kind.name:
        raise InvalidConfig(f"{type(kind).__name__} has no name")
    if find(kind.name) is not None:
        raise InvalidConfig(f"an IO kind named {kind.name!r} is already registered")
    global _ROWS
    _KINDS.insert(len(_KINDS) - 1, kind)
    _ROWS = None
    return kind


def unregister(name: str) -> None:
    """Remove a kind added with :func:`register` (the built-in ones stay)."""
    global _ROWS
    kind = find(name)
    if kind is not None and kind not in BUILTIN:
        _KINDS.remove(kind)
        _ROWS = None


def find(name: str) -> IOKind | None:
    return next((k for k in _KINDS if k.name == name), None)


def get(name: str) -> IOKind:
    kind = find(name)
    if kind is None:
        raise KeyError(f"no IO kind named {name!r} (known: {', '.join(names())})")
    return kind


def names() -> list[str]:
    return [k.name for k in _KINDS]


def detect(base: Any, is_generator: bool) -> IOKind:
    """The kind of a return annotation (``Annotated`` stripped), by the first kind that matches."""
    return next(k for k in _KINDS if k.matches(base, is_generator))


def is_upload(base: Any) -> bool:
    """Whether a parameter of this (stripped, list-unwrapped) type is sent as a multipart file."""
    return any(k.upload and k.matches_param(base) for k in _KINDS)


def param_hook(base: Any) -> Any:
    """The pydantic marker of the first kind that has one for parameter/result type ``base`` (or None)."""
    return next((hook for k in _KINDS if (hook := k.param_hook(base)) is not None), None)


def body_kind(base: Any, media: str) -> IOKind | None:
    """The kind that reads a whole request body of type ``media`` as a parameter of type ``base``."""
    media = media.lower()
    for kind in _KINDS:
        if kind.body_media and kind.param_hook(base) is not None and any(
                fnmatch.fnmatch(media, pattern) for pattern in kind.body_media):
            return kind
    return None


def row_strategies() -> list[Rows]:
    """Every kind's :class:`~bento.core.kinds.rows.Rows` strategies, registered kinds' before built-in ones."""
    global _ROWS
    if _ROWS is None:
        ordered = [k for k in _KINDS if k not in BUILTIN] + [k for k in _KINDS if k in BUILTIN]
        _ROWS = [rows for kind in ordered for rows in kind.rows]
    return _ROWS
