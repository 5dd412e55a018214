"""Serve the iris classifier saved by train.py."""

from __future__ import annotations

import pickle

import numpy as np

import bento


@bento.service(workers=1, traffic={"timeout": 10})
class IrisClassifier:
    model = bento.models.get("iris_sklearn:latest")  # the bento references it; the image carries it

    def __init__(self) -> None:
        with open(self.model.path_of("model.pkl"), "rb") as f:
            self.clf = pickle.load(f)

    @bento.api
    def classify(self, input_series: np.ndarray) -> np.ndarray:
        return self.clf.predict(input_series)
