"""Validators for API parameters (``Annotated[np.ndarray, Shape((3,)), DType("float32")]``, BentoML's
``DataframeSchema`` and ``TensorSchema``)."""

from __future__ import annotations

from bento.core.validators import ContentType, DataframeSchema, DType, Shape, TensorSchema

__all__ = ["ContentType", "DataframeSchema", "DType", "Shape", "TensorSchema"]
