"""Validators for API parameters (``Annotated[np.ndarray, Shape((3,)), DType("float32")]`` and friends)."""

from __future__ import annotations

from bento.core.validators import ContentType, DType, Shape

__all__ = ["ContentType", "DType", "Shape"]
