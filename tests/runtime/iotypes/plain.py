"""A service with no image or table types: serving it must import neither Pillow nor pandas."""

from __future__ import annotations

import sys

import bentoml


@bentoml.service
class Plain:
    @bentoml.api
    def heavy(self, text: str) -> list[str]:
        return sorted(m for m in ("PIL", "pandas", "pyarrow") if m in sys.modules) + [text]
