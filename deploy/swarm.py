"""Docker Swarm: a stack file with one Swarm service per Bento service, deployed with ``docker stack deploy``.

Each service runs on the stack's overlay network with ``endpoint_mode: dnsrr``, so its name answers with
every replica's address and callers spread their calls over them (:mod:`bento.runtime.replicas`). Health
is the image's ``/readyz``; updates start the new task before stopping the old one (``start-first``) and
roll back if the new one fails; ``stop_grace_period`` covers the image's graceful shutdown.

Publishing the entry service:

* ``ingress`` (Swarm's routing mesh): the entry service publishes the port itself and uses a virtual IP
  (the mesh needs one); every node of the swarm answers on the port.
* ``host``: the port is bound on the nodes running it, one task per node. A rolling update could not
  start a new entry task beside the old one (the port is taken), so a small gateway
  (:mod:`bento.runtime.gateway`) publishes the port instead and forwards to the entry service's replicas.
  The gateway keeps the image it was first deployed with, so re-deploying never restarts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from bento.core.errors import InvalidArgument
from bento.deploy.plan import PORT, Plan, ServicePlan

PublishMode = Literal["ingress", "host"]
PUBLISH_MODES: tuple[PublishMode, ...] = ("ingress", "host")
NETWORK = "bento"
GATEWAY = "bento-gateway"
GPU_KIND = "NVIDIA-GPU"  # the generic resource name nodes advertise (dockerd `node-generic-resources`)
# swarmkit's rule for a service name, which is `<stack>_<service>`
_NAME = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")


@dataclass(frozen=True)
class Publish:
    port: int
    mode: PublishMode = "ingress"
    gateway_image: str | None = None  # host mode: the image the running gateway already uses, kept as is


def check_stack_name(stack: str, plan: Plan) -> None:
    """Refuse, before anything is created, a stack name Swarm would refuse for one of its services."""
    longest = max([s.slug for s in plan.services] + [GATEWAY], key=len)
    name = f"{stack}_{longest}"
    if not _NAME.match(stack) or not _NAME.match(name):
        raise InvalidArgument(f"stack name {stack!r} is refused by Docker: use letters, digits, `-` and `_`, "
                              "starting and ending with a letter or digit")
    if len(name) > 63:
        raise InvalidArgument(f"stack name {stack!r} is too long: Docker limits the service name {name!r} to "
                              f"63 characters; use at most {63 - len(longest) - 1}")


def _health(path: str) -> dict[str, Any]:
    probe = (f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}{path}', timeout=2)")
    # start_period: loading a model may take minutes; failures meanwhile do not count, a success ends it
    return {"test": ["CMD", "python3", "-c", probe], "interval": "2s", "timeout": "3s", "retries": 3,
            "start_period": "300s"}


def _resources(svc: ServicePlan) -> dict[str, Any]:
    res = svc.resources
    amounts: dict[str, Any] = {}
    if res.cpus is not None:
        amounts["cpus"] = f"{res.cpus:g}"
    if res.memory_bytes is not None:
        amounts["memory"] = str(res.memory_bytes)
    reservations: dict[str, Any] = dict(amounts)
    if res.gpu:
        reservations["generic_resources"] = [{"discrete_resource_spec": {"kind": GPU_KIND, "value": res.gpu}}]
    out: dict[str, Any] = {}
    if amounts:
        out["limits"] = amounts
    if reservations:
        out["reservations"] = reservations
    return out


def _labels(plan: Plan, service: str) -> dict[str, str]:
    labels = {"ai.bento.tag": plan.bento_tag, "ai.bento.service": service}
    if plan.digest:
        labels["ai.bento.digest"] = plan.digest
    return labels


def _service(plan: Plan, svc: ServicePlan, publish: Publish) -> dict[str, Any]:
    ingress = svc.is_entry and publish.mode == "ingress"
    deploy: dict[str, Any] = {
        "mode": "replicated",
        "replicas": svc.replicas,
        "endpoint_mode": "vip" if ingress else "dnsrr",  # the routing mesh needs a virtual IP
        "labels": _labels(plan, svc.name),
        "update_config": {"parallelism": 1, "order": "start-first", "failure_action": "rollback",
                          "monitor": "10s", "delay": "0s"},
        "rollback_config": {"parallelism": 1, "order": "start-first"},
        "restart_policy": {"condition": "any", "delay": "1s"},
    }
    resources = _resources(svc)
    if resources:
        deploy["resources"] = resources
    spec: dict[str, Any] = {
        "image": plan.image,
        "environment": dict(sorted(svc.env.items())),
        "networks": [NETWORK],
        "healthcheck": _health("/readyz"),
        "stop_grace_period": f"{plan.stop_grace}s",
        "labels": _labels(plan, svc.name),
        "deploy": deploy,
    }
    if ingress:
        spec["ports"] = [{"target": PORT, "published": publish.port, "protocol": "tcp", "mode": "ingress"}]
    return spec


def _gateway(plan: Plan, publish: Publish) -> dict[str, Any]:
    return {
        "image": publish.gateway_image or plan.image,
        "command": ["python", "-m", "bento.runtime.gateway", f"http://{plan.entry.slug}:{PORT}",
                    "--port", str(PORT), "--timeout-graceful-shutdown", f"{plan.graceful_timeout:g}"],
        "networks": [NETWORK],
        "ports": [{"target": PORT, "published": publish.port, "protocol": "tcp", "mode": "host"}],
        "healthcheck": _health("/_bento/gateway/livez"),
        "stop_grace_period": f"{plan.stop_grace}s",
        "labels": {"ai.bento.role": "gateway"},
        "deploy": {
            "mode": "global",  # one per node: each node answers on the port, as the mesh would
            "endpoint_mode": "dnsrr",
            "labels": {"ai.bento.role": "gateway"},
            "restart_policy": {"condition": "any", "delay": "1s"},
        },
    }


def stack_file(plan: Plan, publish: Publish) -> dict[str, Any]:
    """The compose-format (3.8) stack definition of ``plan``."""
    services = {svc.slug: _service(plan, svc, publish) for svc in plan.services}
    if publish.mode == "host":
        if GATEWAY in services:
            raise InvalidArgument(f"a service named {GATEWAY} clashes with the gateway of --publish-mode host; "
                                  "rename it or use --publish-mode ingress")
        services[GATEWAY] = _gateway(plan, publish)
    return {
        "version": "3.8",
        "services": services,
        "networks": {NETWORK: {"driver": "overlay", "attachable": True}},
    }


def render(plan: Plan, publish: Publish) -> str:
    header = (f"# Generated by `bento deploy {plan.bento_tag} --target swarm`; deploy it with\n"
              f"#   docker stack deploy --resolve-image never -c THIS_FILE STACK\n")
    return header + yaml.safe_dump(stack_file(plan, publish), sort_keys=False, default_flow_style=False)


def parse_publish(port: int, mode: str) -> Publish:
    if mode not in PUBLISH_MODES:
        raise InvalidArgument(f"--publish-mode {mode!r}: choose one of {', '.join(PUBLISH_MODES)}")
    return Publish(port=port, mode=mode)  # type: ignore[arg-type]
