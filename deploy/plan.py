"""What a deployment of a bento consists of, whatever the engine: one :class:`ServicePlan` per service.

The plan is read from the bento's manifest (``bento.yaml``: the graph with each service's config and
dependencies, entry first), never by importing user code. Each service runs the same image in its own
containers with ``BENTO_SERVICE=<name>``; every other service of the graph is named to it by
``BENTO_DEPENDENCY_URL_<NAME>`` pointing at the address the engine gives that service (a Swarm service
name, a Kubernetes Service DNS name), so dependencies are called over HTTP and each service scales alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable, Mapping

from bento.core.deployment import GRACEFUL_ENV, SERVICE_ENV, url_env
from bento.core.errors import InvalidArgument, InvalidConfig

PORT = 3000  # the image's port (templates/Dockerfile.j2 EXPOSE, entrypoint.sh BENTO_PORT default)
STOP_MARGIN = 2.0  # seconds between the server's graceful period and the engine's kill
_LABEL = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Resources:
    """``resources`` of one service as the engines need them (``None``: not set)."""

    cpu: str | None = None  # Kubernetes quantity: "2", "500m"
    memory: str | None = None  # Kubernetes quantity: "512Mi", "4Gi"
    gpu: int = 0
    gpu_type: str | None = None

    @property
    def cpus(self) -> float | None:
        """CPU as a number of cores (Swarm's ``cpus``)."""
        if self.cpu is None:
            return None
        return int(self.cpu[:-1]) / 1000 if self.cpu.endswith("m") else float(self.cpu)

    @property
    def memory_bytes(self) -> int | None:
        return None if self.memory is None else _bytes(self.memory)


@dataclass(frozen=True)
class ServicePlan:
    name: str  # the Bento service name
    slug: str  # a DNS label for it (the engine's service name)
    replicas: int
    resources: Resources
    dependencies: tuple[str, ...]  # names of the services it calls
    is_entry: bool = False
    max_replicas: int | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    bento_tag: str
    bento_name: str
    version: str
    digest: str
    image: str
    services: tuple[ServicePlan, ...]
    graceful_timeout: float

    @property
    def entry(self) -> ServicePlan:
        return self.services[0]

    @property
    def stop_grace(self) -> int:
        """Seconds the engine waits after SIGTERM before killing: the server's grace plus a margin."""
        return int(self.graceful_timeout + STOP_MARGIN + 0.999)

    def service(self, name: str) -> ServicePlan:
        return next(s for s in self.services if s.name == name)


def dns_label(name: str) -> str:
    """``name`` as an RFC 1123 label: lower case, ``[a-z0-9-]``, at most 63 characters."""
    label = _LABEL.sub("-", name.lower()).strip("-")[:63].rstrip("-")
    if not label:
        raise InvalidConfig(f"service name {name!r} has no letter or digit to name a container service after")
    return label


def graceful_timeout() -> float:
    """The image's graceful shutdown period: the default ``BENTO_GRACEFUL_TIMEOUT`` of its entrypoint."""
    script = (resources.files("bento.templates") / "entrypoint.sh").read_text()
    found = re.search(r"\$\{" + GRACEFUL_ENV + r":-([0-9.]+)\}", script)
    if found is None:
        raise InvalidConfig(f"templates/entrypoint.sh has no default for {GRACEFUL_ENV}")
    return float(found.group(1))


def parse_counts(items: Iterable[str], option: str) -> dict[str, int]:
    """``["model=2", ...]`` -> ``{"model": 2}``; a malformed item is an :class:`InvalidArgument`."""
    counts: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value.isdigit() or int(value) < 1:
            raise InvalidArgument(f"{option} {item!r}: write SERVICE=N with N a positive integer, e.g. model=2")
        counts[name] = int(value)
    return counts


def make_plan(manifest: Mapping[str, Any], image: str, address: Any, *,
              replicas: Mapping[str, int] | None = None,
              max_replicas: Mapping[str, int] | None = None) -> Plan:
    """The plan for a bento's manifest; ``address(slug)`` is the URL another container reaches it at."""
    described = manifest.get("services") or []
    if not isinstance(described, list) or not described or not all(isinstance(s, dict) for s in described):
        raise InvalidConfig(f"bento {manifest.get('name')}:{manifest.get('version')} lists no services in its "
                            "manifest; rebuild it with `bento build`")
    names = [str(s["name"]) for s in described]
    slugs = {name: dns_label(name) for name in names}
    if len(set(slugs.values())) != len(slugs):
        raise InvalidConfig(f"services {', '.join(names)} do not have distinct DNS names; rename one with "
                            "@bento.service(name=...)")
    replicas = dict(replicas or {})
    max_replicas = dict(max_replicas or {})
    for option, given in (("--replicas", replicas), ("--max-replicas", max_replicas)):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise InvalidArgument(f"{option} {unknown[0]}: the bento has no such service (its services: "
                                  f"{', '.join(names)})")
    urls = {name: address(slugs[name]) for name in names}
    graph = {str(svc["name"]): [str(d["service"]) for d in svc.get("dependencies") or []
                                if d.get("service") and not d.get("url") and d["service"] in slugs]
             for svc in described}
    plans = []
    for index, svc in enumerate(described):
        name = str(svc["name"])
        count = replicas.get(name, 1)
        ceiling = max_replicas.get(name)
        if ceiling is not None and ceiling < count:
            raise InvalidArgument(f"--max-replicas {name}={ceiling} is below its --replicas {count}")
        deps = tuple(sorted(set(graph[name])))
        env = {SERVICE_ENV: name, GRACEFUL_ENV: _number(graceful_timeout())}
        env.update({url_env(other): urls[other] for other in _reachable(name, graph) if other != name})
        plans.append(ServicePlan(name=name, slug=slugs[name], replicas=count, max_replicas=ceiling,
                                 resources=_resources(name, (svc.get("config") or {}).get("resources") or {}),
                                 dependencies=deps, is_entry=index == 0, env=env))
    return Plan(bento_tag=f"{manifest['name']}:{manifest['version']}", bento_name=str(manifest["name"]),
                version=str(manifest["version"]), digest=str(manifest.get("digest") or ""), image=image,
                services=tuple(plans), graceful_timeout=graceful_timeout())


def _reachable(name: str, graph: Mapping[str, list[str]]) -> list[str]:
    """``name`` and every service it calls, directly or through others (each once, sorted)."""
    seen = {name}
    stack = [name]
    while stack:
        for dep in graph.get(stack.pop(), []):
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return sorted(seen)


_CPU = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?|[0-9]+m)$")
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|K|M|G|T|k)?$")
_UNITS = {None: 1, "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
          "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}


def _resources(service: str, raw: Mapping[str, Any]) -> Resources:
    cpu = raw.get("cpu")
    cpu_text = None if cpu is None else _number(cpu) if isinstance(cpu, (int, float)) else str(cpu).strip()
    if cpu_text is not None and (not _CPU.match(cpu_text) or _cpu_value(cpu_text) <= 0):
        raise InvalidConfig(f"service {service}: resources.cpu {cpu!r} is not a CPU amount; write e.g. 2, 0.5 "
                            "or \"500m\"")
    memory = raw.get("memory")
    memory_text = None if memory is None else str(memory).strip()
    if memory_text is not None and not _MEMORY.match(memory_text):
        raise InvalidConfig(f"service {service}: resources.memory {memory!r} is not a memory amount; write "
                            "e.g. \"512Mi\" or \"4Gi\"")
    return Resources(cpu=cpu_text, memory=memory_text, gpu=int(raw.get("gpu") or 0),
                     gpu_type=raw.get("gpu_type") or None)


def _cpu_value(text: str) -> float:
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _bytes(text: str) -> int:
    found = _MEMORY.match(text)
    assert found is not None
    return int(float(found.group(1)) * _UNITS[found.group(2)])


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
