"""The adaptive batcher, driven by a fake model call (pure asyncio, no server)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest
from prometheus_client import REGISTRY

import bento
from bento.errors import BentoError, ServiceUnavailable
from bento.runtime.batching import CostModel, Dispatcher, wrap_batchable
from bento.core.deadline import request_deadline


class FakeModel:
    """Records every batch; the first call can be held open to let a queue build up behind it."""

    def __init__(self, hold_first: bool = False, sleep: float = 0.0) -> None:
        self.batches: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        if not hold_first:
            self.gate.set()
        self.sleep = sleep

    async def __call__(self, kwargs: dict[str, Any]) -> Any:
        self.batches.append(kwargs)
        self.started.set()
        await self.gate.wait()
        if self.sleep:
            await asyncio.sleep(self.sleep)
        x = kwargs["x"]
        return x * 2 if isinstance(x, np.ndarray) else [v * 2 for v in x]


def dispatcher(model: FakeModel, **options: Any) -> Dispatcher:
    settings: dict[str, Any] = {"name": "double", "max_batch_size": 100, "max_latency": 60.0}
    settings.update(options)
    return Dispatcher(model, **settings)


def rows(model: FakeModel) -> list[int]:
    return [len(b["x"]) for b in model.batches]


def test_lone_request_on_idle_server_is_dispatched_without_waiting_for_company() -> None:
    async def main() -> None:
        model = FakeModel()
        d = dispatcher(model)
        out = await asyncio.wait_for(d.submit({"x": np.array([[1.0, 2.0]])}), timeout=10)
        np.testing.assert_array_equal(out, [[2.0, 4.0]])
        assert rows(model) == [1]

    asyncio.run(main())


def test_requests_arriving_during_a_call_are_merged_and_each_gets_its_own_rows() -> None:
    async def main() -> None:
        model = FakeModel(hold_first=True)
        d = dispatcher(model)
        first = asyncio.ensure_future(d.submit({"x": np.array([[0.0]])}))
        await model.started.wait()
        rest = [asyncio.ensure_future(d.submit({"x": np.array([[float(i)], [float(i) + 0.5]])})) for i in range(1, 9)]
        await asyncio.sleep(0)
        model.gate.set()
        outs = await asyncio.gather(first, *rest)
        assert rows(model) == [1, 16]
        for i, out in enumerate(outs[1:], start=1):
            assert isinstance(out, np.ndarray)
            np.testing.assert_array_equal(out, [[2.0 * i], [2.0 * i + 1.0]])

    asyncio.run(main())


def test_batches_never_exceed_max_batch_size() -> None:
    async def main() -> None:
        model = FakeModel(hold_first=True)
        d = dispatcher(model, max_batch_size=4)
        first = asyncio.ensure_future(d.submit({"x": [0]}))
        await model.started.wait()
        rest = [asyncio.ensure_future(d.submit({"x": [i]})) for i in range(1, 11)]
        await asyncio.sleep(0)
        model.gate.set()
        outs = await asyncio.gather(first, *rest)
        assert outs == [[2 * i] for i in range(11)]
        assert rows(model) == [1, 4, 4, 2]

    asyncio.run(main())


def test_oversize_request_is_split_and_joined_in_order() -> None:
    async def main() -> None:
        model = FakeModel()
        d = dispatcher(model, max_batch_size=4)
        x = np.arange(10.0).reshape(10, 1)
        out = await d.submit({"x": x})
        np.testing.assert_array_equal(out, x * 2)
        assert max(rows(model)) <= 4 and sum(rows(model)) == 10

    asyncio.run(main())


def test_batch_dim_other_than_zero() -> None:
    async def main() -> None:
        model = FakeModel(hold_first=True)
        d = dispatcher(model, input_dim=1, output_dim=1)
        first = asyncio.ensure_future(d.submit({"x": np.ones((2, 1))}))
        await model.started.wait()
        a = asyncio.ensure_future(d.submit({"x": np.full((2, 3), 5.0)}))
        b = asyncio.ensure_future(d.submit({"x": np.full((2, 2), 7.0)}))
        await asyncio.sleep(0)
        model.gate.set()
        _, out_a, out_b = await asyncio.gather(first, a, b)
        assert model.batches[1]["x"].shape == (2, 5)
        np.testing.assert_array_equal(out_a, np.full((2, 3), 10.0))
        np.testing.assert_array_equal(out_b, np.full((2, 2), 14.0))

    asyncio.run(main())


def test_requests_with_different_plain_arguments_are_not_merged() -> None:
    async def main() -> None:
        seen: list[tuple[str, list[int]]] = []
        gate = asyncio.Event()

        async def call(kwargs: dict[str, Any]) -> list[str]:
            seen.append((kwargs["mode"], kwargs["x"]))
            await gate.wait()
            return [f"{kwargs['mode']}{v}" for v in kwargs["x"]]

        d = Dispatcher(call, name="tag", max_batch_size=10, max_latency=60.0)
        first = asyncio.ensure_future(d.submit({"x": [0], "mode": "a"}))
        await asyncio.sleep(0)
        others = [asyncio.ensure_future(d.submit({"x": [i], "mode": "ab"[i % 2]})) for i in range(1, 5)]
        await asyncio.sleep(0)
        gate.set()
        outs = await asyncio.gather(first, *others)
        assert outs == [["a0"], ["b1"], ["a2"], ["b3"], ["a4"]]
        assert sorted(seen[1:]) == [("a", [2, 4]), ("b", [1, 3])]

    asyncio.run(main())


def test_an_error_in_the_model_reaches_every_request_of_the_batch() -> None:
    async def main() -> None:
        async def call(kwargs: dict[str, Any]) -> Any:
            await asyncio.sleep(0)
            raise ValueError("model exploded")

        d = Dispatcher(call, name="boom", max_batch_size=10, max_latency=60.0)
        results = await asyncio.gather(*(d.submit({"x": [i]}) for i in range(3)), return_exceptions=True)
        assert all(isinstance(r, ValueError) and "exploded" in str(r) for r in results)

    asyncio.run(main())


def test_a_result_without_one_row_per_input_row_is_a_named_error() -> None:
    async def main() -> None:
        async def call(kwargs: dict[str, Any]) -> Any:
            return [1]

        d = Dispatcher(call, name="short", max_batch_size=10, max_latency=60.0)
        with pytest.raises(BentoError, match="`short`.*one item per input row"):
            await d.submit({"x": [1, 2, 3]})

    asyncio.run(main())


def test_request_that_cannot_meet_its_deadline_is_refused_instead_of_served_late() -> None:
    async def main() -> None:
        model = FakeModel(sleep=0.2)
        d = dispatcher(model, max_latency=0.3)
        await d.submit({"x": [1]})  # unknown cost: served, and teaches the model that a call takes 0.2 s
        running = asyncio.ensure_future(d.submit({"x": [2]}))  # found the model idle: served
        await asyncio.sleep(0.01)
        with pytest.raises(ServiceUnavailable, match="max_latency_ms=300"):
            await d.submit({"x": [3]})  # queued behind a 0.2 s call, then needs 0.2 s more: too late
        assert await running == [4]
        assert rows(model) == [1, 1]

    asyncio.run(main())


def test_a_request_finding_the_model_idle_is_served_even_if_predicted_slow() -> None:
    async def main() -> None:
        model = FakeModel(sleep=0.1)
        d = dispatcher(model, max_latency=0.02)
        assert await d.submit({"x": [1]}) == [2]
        assert await d.submit({"x": [2]}) == [4]  # predicted 0.1 s > 20 ms, but nothing made it wait
        assert rows(model) == [1, 1]

    asyncio.run(main())


def test_deadline_passing_in_the_queue_answers_503() -> None:
    async def main() -> None:
        model = FakeModel(hold_first=True)
        d = dispatcher(model, max_latency=0.05)
        first = asyncio.ensure_future(d.submit({"x": [1]}))
        await model.started.wait()
        with pytest.raises(ServiceUnavailable):
            await d.submit({"x": [2]})
        model.gate.set()
        assert await first == [2]

    asyncio.run(main())


def test_callers_deadline_is_honoured_when_sooner_than_max_latency() -> None:
    async def main() -> None:
        model = FakeModel(hold_first=True)
        d = dispatcher(model, max_latency=60.0)
        first = asyncio.ensure_future(d.submit({"x": [1]}))
        await model.started.wait()
        request_deadline.set(time.monotonic() + 0.05)
        with pytest.raises(ServiceUnavailable):
            await d.submit({"x": [2]})
        model.gate.set()
        await first

    asyncio.run(main())


def test_cost_model_learns_fixed_and_per_row_cost() -> None:
    cost = CostModel()
    assert cost.predict(10) == 0.0
    cost.observe(8, 0.009)
    assert cost.predict(16) == pytest.approx(0.018)  # one size seen: no batching benefit assumed
    for n in (1, 16, 4, 64, 32, 8, 2, 48):
        cost.observe(n, 0.005 + 0.00005 * n)
    assert cost.predict(100) == pytest.approx(0.010, rel=0.05)


def test_wrap_batchable_batches_only_batchable_apis_and_reports_batch_sizes() -> None:
    @bento.service
    class Svc:
        @bento.api(batchable=True, max_batch_size=8)
        def double(self, x: np.ndarray) -> np.ndarray:
            return x * 2

        @bento.api
        def plain(self, x: np.ndarray) -> np.ndarray:
            return x

    async def plain_call(kwargs: dict[str, Any]) -> Any:
        return kwargs["x"]

    assert wrap_batchable(Svc.apis["plain"], plain_call) is plain_call

    async def main() -> None:
        model = FakeModel(hold_first=True)
        call = wrap_batchable(Svc.apis["double"], model)
        before = REGISTRY.get_sample_value("bento_batch_size_count", {"api": "double"}) or 0.0
        big = REGISTRY.get_sample_value("bento_batch_size_bucket", {"api": "double", "le": "4.0"}) or 0.0
        first = asyncio.ensure_future(call({"x": np.zeros((1, 2))}))
        await model.started.wait()
        rest = [asyncio.ensure_future(call({"x": np.ones((1, 2))})) for _ in range(6)]
        await asyncio.sleep(0)
        model.gate.set()
        await asyncio.gather(first, *rest)
        assert REGISTRY.get_sample_value("bento_batch_size_count", {"api": "double"}) == before + 2
        # one batch of 1 row and one of 6 rows: only the first falls in the le=4 bucket
        assert REGISTRY.get_sample_value("bento_batch_size_bucket", {"api": "double", "le": "4.0"}) == big + 1

    asyncio.run(main())


def test_arguments_disagreeing_on_rows_are_a_named_input_error() -> None:
    from bento.errors import InvalidArgument

    async def main() -> None:
        d = dispatcher(FakeModel())
        with pytest.raises(InvalidArgument, match="disagree on the number of rows.*`y`"):
            await d.submit({"x": [1, 2], "y": np.zeros((3, 2))})

    asyncio.run(main())
