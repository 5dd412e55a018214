# A BentoML 1.4-style service, written from BentoML's documentation, served unchanged with `bentoml serve`.
from __future__ import annotations

import os
from typing import Annotated

import numpy as np
from pydantic import BaseModel

import bentoml
from bentoml.exceptions import BadInput


class Arguments(BaseModel):
    greeting: str = "hello"
    top_k: int = 1


args = bentoml.use_arguments(Arguments)


@bentoml.service(
    resources={"cpu": "1", "memory": "2Gi", "gpu": 0},
    traffic={"timeout": 10, "concurrency": 4},
    backlog=512,
    envs=[{"name": "IRIS_MODE", "value": "demo", "stage": "runtime"}],
    metrics={"duration": {"min": 0.01, "max": 10, "factor": 2}},
    http={"response": {"trace_id": True}},
    tracing={"sample_rate": 0.5},
    monitoring={"enabled": False},
    logging={"access": {"enabled": True, "request_content_type": True, "skip_paths": ["/metrics"]}},
)
class IrisClassifier:
    bento_model = bentoml.models.get("iris_sklearn:latest")

    def __init__(self) -> None:
        self.model = bentoml.sklearn.load_model(self.bento_model)
        self.names = self.bento_model.custom_objects["target_names"]

    @bentoml.api
    def classify(self, input_series: np.ndarray) -> np.ndarray:
        return self.model.predict(input_series)

    @bentoml.api
    def name_of(self, features: Annotated[list[float], bentoml.Field(min_length=4, max_length=4)]) -> str:
        if any(v < 0 for v in features):
            raise BadInput("measurements are never negative")
        return self.names[int(self.model.predict([features])[0])]

    @bentoml.api
    def about(self) -> dict:
        ctx = bentoml.server_context
        return {
            "worker_index": ctx.worker_index,
            "service_name": ctx.service_name,
            "bento_name": ctx.bento_name,
            "is_current": bentoml.get_current_service() is self,
            "greeting": args.greeting,
            "top_k": args.top_k,
            "mode": os.environ.get("IRIS_MODE"),
            "extra": os.environ.get("EXTRA_FLAG"),
            "model": str(self.bento_model.tag),
            "tag": str(bentoml.Tag.from_taglike(self.bento_model)),
        }
