"""Legacy runners from stored models and ``bento.runner_service`` (in process; across processes in
test_serve_composition)."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

import bento
from bento.errors import InvalidArgument
from bento.runner import Runner, runner_service


class Affine:
    """A stand-in model: picklable, with a batchable ``predict`` and a plain ``describe``."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        Affine.loaded += 1

    loaded = 0

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(X) * self.scale

    def describe(self, name: str, verbose: bool = False) -> str:
        return f"{name}: x{self.scale}"


def save() -> bento.models.Model:  # type: ignore[name-defined]
    return bento.models.save_model(
        "affine-model", Affine(3.0),
        signatures={"predict": {"batchable": True, "batch_dim": 0}, "describe": {"batchable": False}},
    )


def test_runner_methods_run_and_async_run_and_load_lazily() -> None:
    save()
    Affine.loaded = 0
    runner = bento.models.get("affine-model:latest").to_runner()
    assert isinstance(runner, Runner)
    assert Affine.loaded == 0  # defining a runner loads nothing
    np.testing.assert_array_equal(runner.predict.run(np.array([[1.0], [2.0]])), [[3.0], [6.0]])
    assert asyncio.run(runner.describe.async_run("m")) == "m: x3.0"
    assert Affine.loaded == 1
    with pytest.raises(AttributeError, match="no method `predit`.*predict, describe"):
        runner.predit  # noqa: B018


def test_runner_service_exposes_the_model_methods_as_apis() -> None:
    save()
    runner = bento.models.get("affine-model").to_runner()
    svc = runner_service(runner=runner)
    assert isinstance(svc, bento.Service)
    assert svc.name == "affine_model"
    assert set(svc.apis) == {"predict", "describe"}
    predict = svc.apis["predict"]
    assert predict.batchable and predict.batch_dim == 0
    assert not svc.apis["describe"].batchable
    assert [p.name for p in predict.signature.params] == ["X"]  # read from the model's class
    assert [p.name for p in svc.apis["describe"].signature.params] == ["name"]
    assert svc.models == [runner.models[0]]  # so `bento build` packs the model


def test_runner_service_as_a_dependency_reads_like_the_seed_example() -> None:
    save()
    SampleService = runner_service(runner=bento.models.get("affine-model:latest").to_runner(), name="sample")

    @bento.service(traffic={"timeout": 20})
    class MyService:
        sample_model_runner = bento.depends(SampleService)

        @bento.api
        def classify(self, input_series: np.ndarray) -> np.ndarray:
            return self.sample_model_runner.predict.run(input_series)

        @bento.api
        async def aclassify(self, input_series: np.ndarray) -> np.ndarray:
            return await self.sample_model_runner.predict.async_run(input_series)  # type: ignore[no-any-return]

    svc = MyService()
    np.testing.assert_array_equal(svc.classify(np.ones(2)), [3.0, 3.0])
    np.testing.assert_array_equal(asyncio.run(svc.aclassify(np.ones(1))), [3.0])
    np.testing.assert_array_equal(svc.sample_model_runner.predict(np.ones(1)), [3.0])


def test_runner_service_refuses_what_is_not_a_runner() -> None:
    with pytest.raises(InvalidArgument, match="needs a runner"):
        runner_service(runner="affine-model:latest")  # type: ignore[arg-type]
