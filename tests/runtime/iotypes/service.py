"""A BentoML-style service with image and DataFrame inputs and outputs (served for real by test_iotypes)."""

from __future__ import annotations

import time
from typing import Annotated

import bentoml
import numpy as np
import pandas as pd
from PIL import Image as im
from PIL.Image import Image
from bentoml.validators import ContentType, DataframeSchema, TensorSchema


@bentoml.service
class Media:
    @bentoml.api
    def resize(self, image: Image, height: int = 4, width: int = 6) -> Image:
        return image.resize((width, height), im.LANCZOS)

    @bentoml.api
    def echo(self, image: Image) -> Image:
        return image

    @bentoml.api
    def thumbnail(self, image: Image) -> Annotated[Image, ContentType("image/jpeg")]:
        return image.convert("RGBA").resize((2, 2))

    @bentoml.api
    def info(self, image: Image, /) -> dict:
        return {"size": list(image.size), "mode": image.mode, "format": image.format}

    @bentoml.api
    def only_png(self, image: Annotated[Image, ContentType("image/png")]) -> int:
        return image.width

    @bentoml.api
    def describe(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.describe().loc[["mean", "max"]].reset_index(names="stat")

    @bentoml.api
    def by_column(self, frame: Annotated[pd.DataFrame, DataframeSchema(orient="columns", columns=["a", "b"])]
                  ) -> Annotated[pd.DataFrame, DataframeSchema(orient="columns")]:
        return frame.assign(total=frame["a"] + frame["b"])

    @bentoml.api
    def iris(self, input: Annotated[pd.DataFrame, DataframeSchema(orient="records",
                                                                   columns=["petal_length", "petal_width"])]) -> list[float]:
        return (input["petal_length"] * input["petal_width"]).round(2).tolist()

    @bentoml.api
    def as_csv(self, frame: pd.DataFrame) -> Annotated[pd.DataFrame, ContentType("text/csv")]:
        return frame.sort_values(frame.columns[0])

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=20000)
    def scores(self, rows: pd.DataFrame) -> pd.DataFrame:
        time.sleep(0.3)  # while one call runs, the next requests queue and merge
        return pd.DataFrame({"score": rows["x"] * 10, "batch": len(rows)})

    @bentoml.api
    def tensor(self, t: Annotated[np.ndarray, TensorSchema(format="numpy-array", dtype="float32", shape=(2, 2))]
               ) -> dict:
        return {"dtype": str(t.dtype), "shape": list(t.shape), "sum": float(t.sum())}

    @bentoml.api
    def int_tensor(self, t: Annotated[np.ndarray, TensorSchema(format="numpy-array", dtype="int32")]) -> list[int]:
        return (t * 2).tolist()
