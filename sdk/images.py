"""``bento.images``: the build environment of a service in Python (see :class:`Image`)."""

from __future__ import annotations

from bento.core.images import Image

__all__ = ["Image"]
