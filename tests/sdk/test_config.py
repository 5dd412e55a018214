from __future__ import annotations

import pytest

import bento
from bento.core.config import ServiceConfig
from bento.errors import InvalidConfig


def declare(**config: object) -> bento.Service:
    class Thing:
        @bento.api
        def ping(self) -> str:
            return "pong"

    return bento.service(**config)(Thing)


def test_every_field_is_optional_with_documented_defaults() -> None:
    svc = bento.service(type("Bare", (), {}))
    cfg = svc.config
    assert svc.name == "Bare"
    assert (cfg.workers, cfg.threads, cfg.traffic.timeout, cfg.traffic.max_concurrency) == (1, 1, 60.0, None)
    assert (cfg.http.host, cfg.http.port, cfg.http.max_body_size) == ("127.0.0.1", 3000, 100 * 1024 * 1024)
    assert cfg.metrics.enabled and cfg.logging.access.enabled


def test_full_configuration_is_read() -> None:
    svc = declare(
        name="summarizer",
        resources={"cpu": "2", "memory": "500MiB", "gpu": 1, "gpu_type": "nvidia-tesla-t4"},
        traffic={"timeout": 10, "max_concurrency": 4, "concurrency": 2, "external_queue": True},
        workers="cpu_count",
        threads=4,
        envs=[{"name": "HF_TOKEN"}, {"name": "MODE", "value": "fast"}],
        labels={"team": "nlp"},
        description="summaries",
        http={"host": "0.0.0.0", "port": 8080, "cors": {"enabled": True}},
        metrics={"enabled": False},
        logging={"access": {"enabled": False}},
    )
    cfg = svc.config
    assert svc.name == "summarizer"
    assert cfg.resources.gpu == 1 and cfg.traffic.max_concurrency == 4
    assert cfg.worker_count() >= 1 and cfg.threads == 4
    assert cfg.envs[1].value == "fast" and cfg.http.cors.enabled and not cfg.metrics.enabled


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"traffic": {"timout": 3}}, "unknown key `traffic.timout`"),
        ({"traffic": {"timout": 3}}, "did you mean `traffic.timeout`?"),
        ({"resourses": {"cpu": 1}}, "did you mean `resources`?"),
        ({"http": {"cors": {"enable": True}}}, "did you mean `http.cors.enabled`?"),
        ({"traffic": {"timeout": "soon"}}, "`traffic.timeout`"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"threads": 0}, "`threads`"),
    ],
)
def test_bad_configuration_names_the_key_and_the_fix(config: dict[str, object], expected: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        declare(**config)
    assert expected in str(info.value)
    assert "Thing" in str(info.value)


def test_config_values_are_immutable() -> None:
    cfg = ServiceConfig()
    with pytest.raises(Exception):
        cfg.workers = 3  # type: ignore[misc]
