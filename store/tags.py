"""Tags (``name:version``): validation, parsing and generated model versions.

Names and versions are lowercase ``[a-z0-9._-]``, start with a letter or digit and have at most 63
characters, so that each one is a safe single path component and a valid Docker tag part.
"""

from __future__ import annotations

import datetime as _dt
import re
import secrets
from dataclasses import dataclass

from bento.core.errors import InvalidArgument

MAX_LEN = 63
LATEST = "latest"
_COMPONENT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def check_component(value: str, what: str, tag: str | None = None) -> str:
    """Return ``value`` if it is a valid name or version, else raise a named InvalidArgument."""
    where = f"tag {tag!r}" if tag is not None else f"{what} {value!r}"
    if not value:
        raise InvalidArgument(f"{where}: the {what} is empty; use lowercase letters, digits, '.', '_' or '-'")
    if len(value) > MAX_LEN:
        raise InvalidArgument(f"{where}: the {what} has {len(value)} characters; the limit is {MAX_LEN}")
    if not _COMPONENT.match(value):
        hint = ""
        lowered = re.sub(r"[^a-z0-9._-]", "_", value.lower()).lstrip("._-")
        if lowered and _COMPONENT.match(lowered[:MAX_LEN]):
            hint = f"; try {lowered[:MAX_LEN]!r}"
        raise InvalidArgument(
            f"{where}: a {what} may contain only lowercase letters, digits, '.', '_' and '-' "
            f"and must start with a letter or digit{hint}"
        )
    return value


def check_version(value: str, tag: str | None = None) -> str:
    """A valid version that is not reserved: ``latest`` names the pointer file beside the versions."""
    check_component(value, "version", tag)
    if value == LATEST:
        where = f"tag {tag!r}" if tag is not None else f"version {value!r}"
        raise InvalidArgument(f"{where}: 'latest' is reserved (it points at the newest version); choose another version")
    return value


@dataclass(frozen=True)
class Tag:
    """A parsed tag. ``version`` is ``None`` for ``name`` / ``name:latest``."""

    name: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> Tag:
        if not isinstance(text, str):
            raise InvalidArgument(f"a tag must be a string like 'name:version', not {type(text).__name__}")
        name, sep, version = text.strip().partition(":")
        check_component(name, "name", text)
        if not sep or version == LATEST:
            return cls(name, None)
        check_component(version, "version", text)
        return cls(name, version)

    def __str__(self) -> str:
        return f"{self.name}:{self.version or LATEST}"


def new_version(now: _dt.datetime | None = None) -> str:
    """A unique version that sorts by creation time: ``20261121-142238-123456-3fa9c2``."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y%m%d-%H%M%S-%f") + "-" + secrets.token_hex(3)
