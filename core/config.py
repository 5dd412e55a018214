"""Typed configuration values: the ``@bento.service(...)`` settings and the error formatting shared by
every user-written configuration (service decorator, bentofile).

Each setting is defined once, here. Precedence, where a setting can come from several places, is:
explicit argument (CLI flag) > environment variable (``BENTO_…``) > decorator / bentofile > default.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bento.core.errors import InvalidConfig


class Strict(BaseModel):
    """Base for configuration sections: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_MEMORY_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
                 "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?\s*$", re.IGNORECASE)


def memory_bytes(text: str | int | float) -> int:
    """``"512Mi"``, ``"4Gi"``, ``"1G"``, ``"500M"`` or a plain number of bytes → bytes (Kubernetes units)."""
    if isinstance(text, (int, float)):
        return int(text)
    match = _MEMORY.match(text)
    if match is None:
        raise ValueError(f"not a memory size: {text!r} (use e.g. 512Mi, 4Gi, 1G)")
    return int(float(match.group(1)) * _MEMORY_UNITS[(match.group(2) or "").lower()])


class Resources(Strict):
    cpu: str | int | float | None = Field(None, description='CPU request, e.g. 2, "500m"')
    memory: str | int | float | None = Field(None, description='Memory request, e.g. "512Mi", "4Gi"; a number is bytes')
    gpu: int | float = Field(0, ge=0, description="GPUs per worker (a fraction shares one, 0.5: two workers per "
                                            "GPU); > 0 selects a CUDA base image")
    gpu_type: str | None = Field(None, description='GPU model, e.g. "nvidia-tesla-t4"')
    tpu_type: str | None = Field(None, description="TPU model (recorded for deployment platforms)")

    @field_validator("gpu", mode="before")
    @classmethod
    def _gpu_from_str(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return int(value) if value.strip().isdigit() else float(value)
            except ValueError:
                return value
        return value

    @field_validator("gpu")
    @classmethod
    def _whole_above_one(cls, value: int | float) -> int | float:
        if value > 1 and value != int(value):
            raise ValueError("use whole GPUs per worker above 1, or a fraction below 1 (0.5: two workers per GPU)")
        return value


class Traffic(Strict):
    timeout: float = Field(60.0, gt=0, description="Seconds before a request is answered 504")
    max_concurrency: int | None = Field(
        None, gt=0, description="Requests in flight per service (all workers); excess gets 503"
    )
    concurrency: int | None = Field(None, gt=0, description="Target concurrency hint for autoscalers")
    external_queue: bool = Field(False, description="Queue excess requests outside the service")
    max_requests: int | None = Field(
        None, gt=0, description="Recycle a worker (gracefully) after it served this many API requests")
    max_requests_jitter: int = Field(
        0, ge=0, description="Add 0..jitter to max_requests per worker, so workers do not recycle together")
    max_memory: str | int | None = Field(
        None, description='Recycle a worker whose RSS exceeds this, e.g. "2Gi"; '
        "default: resources.memory divided by the number of workers")

    @field_validator("max_memory")
    @classmethod
    def _memory_size(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            memory_bytes(value)
        return value


class CORS(Strict):
    enabled: bool = False
    access_control_allow_origin_regex: str | None = None  # accepted, no effect here
    access_control_expose_headers: list[str] | None = None  # accepted, no effect here
    access_control_allow_origins: list[str] = Field(default_factory=lambda: ["*"])
    access_control_allow_methods: list[str] = Field(default_factory=lambda: ["GET", "POST", "OPTIONS"])
    access_control_allow_headers: list[str] = Field(default_factory=lambda: ["*"])
    access_control_allow_credentials: bool = False
    access_control_max_age: int | None = None


class HTTPResponse(Strict):
    trace_id: bool = False  # accepted, no effect here


class HTTP(Strict):
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=0, le=65535)
    cors: CORS = Field(default_factory=CORS)
    max_body_size: int = Field(100 * 1024 * 1024, gt=0, description="Bytes; larger bodies get 413")
    header_read_timeout: float = Field(
        5.0, gt=0, description="Seconds a connection has to send a request's headers before it is closed")
    body_read_timeout: float = Field(
        30.0, gt=0, description="Seconds a request body may pause before the connection is closed")
    allowed_hosts: list[str] | None = Field(
        None, description='Host header names served (exact, "*.suffix" or "*"); other hosts get 400. '
        'Default: loopback names when bound to a loopback address, any name otherwise')
    response: HTTPResponse = Field(default_factory=HTTPResponse)


class MetricsDuration(Strict):
    """BentoML's histogram settings: explicit ``buckets``, or ``min``/``max``/``factor`` (exponential)."""

    buckets: list[float] | None = None
    min: float | None = Field(None, gt=0)
    max: float | None = Field(None, gt=0)
    factor: float | None = Field(None, gt=1)

    def to_buckets(self) -> list[float] | None:
        if self.buckets:
            return sorted(self.buckets)
        if self.min is None or self.max is None or self.factor is None:
            return None
        count = int(math.floor(math.log(self.max / self.min, self.factor))) + 1
        return [round(self.min * self.factor ** i, 6) for i in range(count)]


class Metrics(Strict):
    enabled: bool = True
    namespace: str = "bento"
    duration_buckets: list[float] | None = None
    duration: MetricsDuration | None = None

    @model_validator(mode="after")
    def _buckets_from_duration(self) -> Metrics:
        if self.duration is not None and self.duration_buckets is None:
            object.__setattr__(self, "duration_buckets", self.duration.to_buckets())
        return self


class AccessLogFormat(Strict):
    trace_id: str | None = None  # accepted, no effect here
    span_id: str | None = None


class AccessLog(Strict):
    enabled: bool = True
    request_content_length: bool = True
    response_content_length: bool = True
    request_content_type: bool = True  # accepted, no effect here (the log line names no content types)
    response_content_type: bool = True
    skip_paths: list[str] = Field(default_factory=list)  # accepted, no effect here
    format: AccessLogFormat = Field(default_factory=AccessLogFormat)


class Logging(Strict):
    access: AccessLog = Field(default_factory=AccessLog)
    level: Literal["debug", "info", "warning", "error"] = "info"


class EnvVar(Strict):
    name: str
    value: str | None = None
    stage: Literal["all", "build", "runtime"] = "all"  # accepted; every env applies at build and at runtime


class SSL(Strict):
    """TLS of the public port (``--ssl-certfile``/``--ssl-keyfile`` win)."""

    enabled: bool = False
    certfile: str | None = None
    keyfile: str | None = None
    keyfile_password: str | None = None
    version: int | None = None  # accepted, no effect here (Python's default protocol)
    cert_reqs: int | None = None
    ca_certs: str | None = None
    ciphers: str | None = None


class RunnerProbe(Strict):
    enabled: bool = True
    timeout: int = 1
    period: int = 10


class Tracing(Strict):
    exporter_type: str | None = None
    sample_rate: float | None = None
    excluded_urls: str | list[str] | None = None
    timeout: int | None = None
    max_tag_value_length: int | None = None
    zipkin: dict[str, Any] | None = None
    jaeger: dict[str, Any] | None = None
    otlp: dict[str, Any] | None = None


class Monitoring(Strict):
    enabled: bool = True
    type: str = "default"
    options: dict[str, Any] | None = None


class Endpoints(Strict):
    livez: str = "/livez"
    readyz: str = "/readyz"
    metrics: str = "/metrics"


WorkersSetting = int | Literal["cpu_count", "gpu_count"]


class ServiceConfig(Strict):
    """Everything ``@bento.service(...)`` accepts. Every field is optional."""

    name: str | None = Field(None, description="Service name; defaults to the class name")
    resources: Resources = Field(default_factory=Resources)
    traffic: Traffic = Field(default_factory=Traffic)
    workers: WorkersSetting = Field(1, description='Worker processes, "cpu_count", or "gpu_count" (one per '
                                                   'GPU, or per resources.gpu share)')
    threads: int = Field(1, ge=1, description="Threads running sync APIs in each worker")
    envs: list[EnvVar] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    http: HTTP = Field(default_factory=HTTP)
    metrics: Metrics = Field(default_factory=Metrics)
    logging: Logging = Field(default_factory=Logging)
    # BentoML 1.4 keys: backlog and ssl are implemented; the others load and are logged as without effect.
    backlog: int = Field(2048, ge=1, description="Pending connections the public socket queues")
    ssl: SSL = Field(default_factory=SSL)
    max_runner_connections: int | None = None
    runner_probe: RunnerProbe = Field(default_factory=RunnerProbe)
    tracing: Tracing = Field(default_factory=Tracing)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    endpoints: Endpoints = Field(default_factory=Endpoints)

    @field_validator("workers")
    @classmethod
    def _positive_workers(cls, value: WorkersSetting) -> WorkersSetting:
        if isinstance(value, int) and value < 1:
            raise ValueError("workers must be at least 1")
        return value

    def worker_count(self) -> int:
        if self.workers == "cpu_count":
            return os.cpu_count() or 1
        if self.workers == "gpu_count":
            from bento.core.gpus import visible_gpus, workers_for_gpus

            return workers_for_gpus(self.resources.gpu, len(visible_gpus()[0]), self.name or "the service")
        return int(self.workers)


def _keys_at(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    """The valid keys of the (nested) model at ``path``, or [] when the path leaves the models."""
    current: Any = model
    for part in path:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    """The BaseModel class inside ``annotation`` (``X``, ``X | None``, ``list[X]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def describe_validation_error(exc: ValidationError, model: type[BaseModel], where: str) -> str:
    """Turn a pydantic error into lines that name each key and say how to fix it."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        dotted = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            valid = _keys_at(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
            prefix = ".".join(str(p) for p in loc[:-1])
            if close:
                hint = f"did you mean `{prefix + '.' if prefix else ''}{close[0]}`?"
            else:
                hint = "valid keys here: " + ", ".join(f"`{k}`" for k in valid)
            lines.append(f"unknown key `{dotted}` in {where}; {hint}")
        else:
            got = err.get("input")
            shown = repr(got) if not isinstance(got, dict) else "a mapping"
            lines.append(f"`{dotted}` in {where}: {err['msg']} (got {shown})")
    return "\n".join(lines)


# Keys BentoML accepts that change nothing here (dotted, as written in the decorator).
INERT_KEYS = (
    "max_runner_connections", "runner_probe", "tracing", "monitoring", "endpoints", "resources.tpu_type",
    "http.response", "http.cors.access_control_allow_origin_regex", "http.cors.access_control_expose_headers",
    "logging.access.request_content_type", "logging.access.response_content_type", "logging.access.skip_paths",
    "logging.access.format", "ssl.version", "ssl.cert_reqs", "ssl.ca_certs", "ssl.ciphers", "envs[].stage",
)
_logged: set[str] = set()


def inert_keys(data: Any) -> list[str]:
    """The keys of a raw decorator config that are accepted for BentoML's sake and have no effect."""
    found = []
    for key in INERT_KEYS:
        if key == "envs[].stage":
            envs = data.get("envs") if isinstance(data, dict) else None
            if isinstance(envs, list) and any(isinstance(e, dict) and "stage" in e for e in envs):
                found.append(key)
            continue
        node: Any = data
        for part in key.split("."):
            node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
        if node is not _MISSING:
            found.append(key)
    return found


_MISSING = object()


def log_inert_keys(data: Any, where: str) -> None:
    """Log once per process and key: ``accepted, has no effect here``."""
    for key in inert_keys(data):
        marker = f"{where}\0{key}"
        if marker in _logged:
            continue
        _logged.add(marker)
        logging.getLogger("bento.config").info("`%s` in %s is accepted (BentoML) and has no effect here", key, where)


def parse_config(model: type[Strict], data: Any, where: str) -> Any:
    """Validate ``data`` against ``model`` or raise :class:`InvalidConfig` with a readable message."""
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        raise InvalidConfig(describe_validation_error(exc, model, where)) from None
