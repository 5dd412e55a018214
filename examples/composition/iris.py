"""The seed's ``IrisClassifier`` with a ``Preprocessing`` dependency and a stored scikit-learn model,
plus the legacy-runner variant (``bento.runner_service``).

Train and store the models first (``python train_iris.py``), then:

    bento serve iris.py:IrisClassifier      # model loaded with joblib from the store
    bento serve iris.py:MyService           # the same model as a legacy runner, via runner_service
"""

from __future__ import annotations

import numpy as np

import bentoml


@bentoml.service(workers=1)
class Preprocessing:
    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=500)
    def standardize(self, input_series: np.ndarray) -> np.ndarray:
        return np.round(np.asarray(input_series, dtype=float), 2)


@bentoml.service(resources={"cpu": "200m", "memory": "512Mi"})
class IrisClassifier:
    iris_model = bentoml.models.get("iris_sklearn:latest")
    preprocessing = bentoml.depends(Preprocessing)

    def __init__(self) -> None:
        import joblib

        self.model = joblib.load(self.iris_model.path_of("model.pkl"))

    @bentoml.api
    def classify(self, input_series: np.ndarray) -> np.ndarray:
        return self.model.predict(self.preprocessing.standardize(input_series))


# Create a legacy runner
sample_legacy_runner = bentoml.models.get("iris_runner:latest").to_runner()
# Create an internal Service
SampleService = bentoml.runner_service(runner=sample_legacy_runner)


@bentoml.service(resources={"cpu": "2", "memory": "500MiB"}, traffic={"timeout": 20})
class MyService:
    # Integrate the internal Service using bentoml.depends() to inject it as a dependency
    sample_model_runner = bentoml.depends(SampleService)

    @bentoml.api
    def classify(self, input_series: np.ndarray) -> np.ndarray:
        # Use the internal Service for prediction
        result = self.sample_model_runner.predict.run(input_series)
        return result
