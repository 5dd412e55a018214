"""``bento.Context``: what an API sees of its request and can set on its response."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping


@dataclass
class Cookie:
    key: str
    value: str
    max_age: int | None = None
    expires: int | None = None
    path: str = "/"
    domain: str | None = None
    secure: bool = False
    httponly: bool = False
    samesite: Literal["lax", "strict", "none"] = "lax"


class ResponseHeaders:
    """A multi-valued header list: ``append`` adds a value, item assignment replaces all of them."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def append(self, key: str, value: str) -> None:
        self.items.append((key, value))

    def __setitem__(self, key: str, value: str) -> None:
        self.items = [(k, v) for k, v in self.items if k.lower() != key.lower()]
        self.items.append((key, value))

    set = __setitem__

    def __getitem__(self, key: str) -> str:
        for k, v in reversed(self.items):
            if k.lower() == key.lower():
                return v
        raise KeyError(key)

    def get(self, key: str, default: str | None = None) -> str | None:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(k.lower() == key.lower() for k, _ in self.items)


@dataclass
class ResponseContext:
    status_code: int = 200
    headers: ResponseHeaders = field(default_factory=ResponseHeaders)
    cookies: list[Cookie] = field(default_factory=list)


class Context:
    """Injected into an API by a parameter annotated ``bento.Context`` (or named ``ctx``/``context``).

    ``request`` is the incoming starlette request (headers, cookies, query_params), ``response`` collects
    status, headers and cookies, ``state`` is a per-worker dict shared by every API, and ``temp_dir`` a
    per-request directory removed once the response has been sent.
    """

    def __init__(self, request: Any, state: dict[str, Any]) -> None:
        self.request = request
        self.response = ResponseContext()
        self.state = state
        self._temp_dir: str | None = None

    @property
    def temp_dir(self) -> str:
        if self._temp_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="bento-request-")
        return self._temp_dir

    def close(self) -> None:
        """Remove the per-request directory (called by the server after the response is sent)."""
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    @property
    def headers(self) -> Mapping[str, str]:
        return self.request.headers if self.request is not None else {}
