"""BentoML 1.4's @service keys and small public names, in process."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel

import bentoml
from bento.core.config import INERT_KEYS
from bento.errors import InvalidConfig

EVERY_KEY: dict[str, Any] = {
    "name": "full",
    "resources": {"cpu": "2", "memory": 2, "gpu": 0.5, "gpu_type": "nvidia-tesla-t4", "tpu_type": "v4"},
    "traffic": {"timeout": 30, "max_concurrency": 8, "concurrency": 4, "external_queue": False},
    "workers": 1,
    "threads": 2,
    "backlog": 256,
    "max_runner_connections": 16,
    "envs": [{"name": "A", "value": "1", "stage": "runtime"}, {"name": "B", "stage": "build", "value": "2"}],
    "labels": {"team": "ml"},
    "http": {"host": "127.0.0.1", "port": 3001, "response": {"trace_id": True},
             "cors": {"enabled": True, "access_control_allow_origins": ["*"], "access_control_allow_origin_regex": ".*",
                      "access_control_expose_headers": ["x-a"], "access_control_max_age": 60}},
    "ssl": {"enabled": False, "certfile": None, "keyfile": None, "keyfile_password": None, "version": 2,
            "cert_reqs": 0, "ca_certs": None, "ciphers": "TLSv1"},
    "metrics": {"enabled": True, "namespace": "iris", "duration": {"buckets": [0.5, 0.1, 1.0]}},
    "logging": {"access": {"enabled": True, "request_content_length": True, "request_content_type": True,
                           "response_content_length": True, "response_content_type": True,
                           "skip_paths": ["/metrics"], "format": {"trace_id": "032x", "span_id": "016x"}}},
    "runner_probe": {"enabled": True, "timeout": 1, "period": 10},
    "tracing": {"exporter_type": "otlp", "sample_rate": 1.0, "excluded_urls": "readyz", "otlp": {"protocol": "grpc"}},
    "monitoring": {"enabled": True, "type": "default", "options": {"log_path": "monitoring"}},
    "endpoints": {"livez": "/livez", "readyz": "/readyz", "metrics": "/metrics"},
}


def _service(**config: Any) -> Any:
    class Full:
        @bentoml.api
        def ping(self) -> str:
            return "pong"

    return bentoml.service(**config)(Full)


def test_every_key_bentoml_accepts_loads_and_the_ones_without_effect_are_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bento.config"):
        svc = _service(**EVERY_KEY)
        _service(**EVERY_KEY)
    config = svc.config
    assert config.resources.gpu == 0.5 and config.resources.memory == 2
    assert config.metrics.duration_buckets == [0.1, 0.5, 1.0]
    assert config.backlog == 256 and config.ssl.ciphers == "TLSv1"
    inert = [r.getMessage() for r in caplog.records if "has no effect here" in r.getMessage()]
    assert sorted(inert) == sorted(f"`{key}` in @service config of Full is accepted (BentoML) and has no effect here"
                                   for key in INERT_KEYS)


def test_metrics_duration_min_max_factor_become_exponential_buckets() -> None:
    svc = _service(metrics={"duration": {"min": 0.1, "max": 1.0, "factor": 2.0}})
    assert svc.config.metrics.duration_buckets == [0.1, 0.2, 0.4, 0.8]


@pytest.mark.parametrize("config, message", [
    ({"tracin": {}}, "unknown key `tracin` in @service config of Full; did you mean `tracing`?"),
    ({"ssl": {"certfil": "a.pem"}}, "unknown key `ssl.certfil` in @service config of Full; did you mean `ssl.certfile`?"),
    ({"http": {"response": {"traceid": True}}}, "did you mean `http.response.trace_id`?"),
    ({"envs": [{"name": "A", "stage": "sometimes"}]}, "`envs.0.stage`"),
])
def test_keys_bentoml_does_not_know_are_still_errors_with_a_suggestion(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfig) as err:
        _service(**config)
    assert message in str(err.value)


def test_tag_exceptions_field_and_io_descriptor() -> None:
    tag = bentoml.Tag.from_taglike("iris_clf:abc")
    assert (tag.name, tag.version, str(tag)) == ("iris_clf", "abc", "iris_clf:abc")
    assert str(bentoml.Tag("iris_clf")) == "iris_clf" and bentoml.Tag.from_str("iris_clf:latest").version is None
    assert bentoml.Tag("a", "1") == "a:1"
    assert bentoml.exceptions.BadInput("x").http_status == 400
    assert bentoml.exceptions.NotFound("x").http_status == 404
    assert bentoml.exceptions.TooManyRequests("x").http_status == 429
    assert issubclass(bentoml.exceptions.BadInput, bentoml.exceptions.BentoMLException)
    from pydantic import Field

    assert bentoml.Field is Field
    assert issubclass(bentoml.IODescriptor, BaseModel)


def test_use_arguments_reads_the_serve_flags_with_or_without_a_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    class Args(BaseModel):
        model_name: str
        gpu: int = 8

    monkeypatch.setenv("BENTO_ARGUMENTS", '{"model_name": "gpt2", "gpu": "2"}')
    assert bentoml.use_arguments(Args) == Args(model_name="gpt2", gpu=2)
    assert bentoml.use_arguments().model_name == "gpt2"
    monkeypatch.setenv("BENTO_ARGUMENTS", '{"gpu": "x"}')
    with pytest.raises(InvalidConfig, match=r"service arguments \(--arg\) do not match Args: model_name: Field required"):
        bentoml.use_arguments(Args)


def test_server_context_outside_a_server() -> None:
    assert bentoml.server_context.worker_index is None and bentoml.get_current_service() is None
