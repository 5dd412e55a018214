"""Kubernetes: one Deployment and one Service per Bento service (and an autoscaler where asked), as YAML.

* The entry service gets a ClusterIP Service (put an Ingress or a LoadBalancer in front of it); every
  dependency gets a headless Service (``clusterIP: None``), so its DNS name answers with the address of
  each ready pod and callers spread their calls over them, as with Swarm's ``dnsrr``.
* Readiness on ``/readyz``, liveness on ``/livez``; a ``preStop`` pause lets the endpoints controller take a
  stopping pod out of DNS before it stops accepting, and ``terminationGracePeriodSeconds`` covers that
  pause plus the image's graceful shutdown.
* ``resources`` become requests and limits; GPUs are ``nvidia.com/gpu`` limits, and a GPU service must say
  which nodes have them: ``resources.gpu_type`` (the node label ``nvidia.com/gpu.product`` that NVIDIA's
  GPU feature discovery sets) or ``--gpu-node-selector KEY=VALUE``. Without either the bento cannot be
  expressed and nothing is written.
* ``--max-replicas SERVICE=N`` adds an ``autoscaling/v2`` HorizontalPodAutoscaler on CPU use, which needs
  the service's ``resources.cpu`` (utilisation is relative to the request).
* Labels carry the bento tag and digest (``ai.bento/...``) so every object traces back to what was built.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Mapping

import yaml

from bento.core.errors import InvalidArgument, InvalidConfig
from bento.deploy.plan import PORT, Plan, ServicePlan, dns_label, make_plan

GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
PRE_STOP_SECONDS = 5
CPU_TARGET = 80  # percent of the CPU request an autoscaler keeps pods at


def _labels(plan: Plan, svc: ServicePlan, app: str) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/component": svc.slug,
              "app.kubernetes.io/part-of": dns_label(plan.bento_name),
              "app.kubernetes.io/version": _label_value(plan.version),
              "app.kubernetes.io/managed-by": "bento", "ai.bento/service": svc.slug}
    if plan.digest:
        labels["ai.bento/digest"] = _label_value(plan.digest)  # the full digest is an annotation
    return labels


def _label_value(text: str) -> str:
    """``text`` as a label value: at most 63 of ``[A-Za-z0-9-_.]``, alphanumeric at both ends."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)[:63].strip("-_.")


def _meta(name: str, labels: dict[str, str], namespace: str | None, plan: Plan) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = labels
    meta["annotations"] = {"ai.bento/tag": plan.bento_tag, **({"ai.bento/digest": plan.digest} if plan.digest else {})}
    return meta


def _resources(svc: ServicePlan) -> dict[str, Any]:
    res = svc.resources
    amounts: dict[str, Any] = {}
    if res.cpu is not None:
        amounts["cpu"] = res.cpu
    if res.memory is not None:
        amounts["memory"] = res.memory
    out: dict[str, Any] = {}
    if amounts:
        out["requests"] = dict(amounts)
    limits = dict(amounts)
    if res.gpu:
        limits[GPU_RESOURCE] = res.gpu  # extended resources: the limit is the request
    if limits:
        out["limits"] = limits
    return out


def _node_placement(svc: ServicePlan, gpu_selector: Mapping[str, str]) -> dict[str, Any]:
    if not svc.resources.gpu:
        return {}
    if gpu_selector:
        selector = dict(gpu_selector)
    elif svc.resources.gpu_type:
        selector = {GPU_PRODUCT_LABEL: svc.resources.gpu_type}
    else:
        raise InvalidConfig(
            f"service {svc.name} asks for {svc.resources.gpu} GPU(s) but nothing says which nodes have them: set "
            f"resources.gpu_type (nodes labelled {GPU_PRODUCT_LABEL}=<type>) or pass --gpu-node-selector KEY=VALUE")
    return {"nodeSelector": selector,
            "tolerations": [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]}


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period, "timeoutSeconds": 3,
            "failureThreshold": failures}


def _deployment(plan: Plan, svc: ServicePlan, name: str, labels: dict[str, str], namespace: str | None,
                gpu_selector: Mapping[str, str]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": svc.slug,
        "image": plan.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": [{"name": key, "value": value} for key, value in sorted(svc.env.items())],
        # a model may load for minutes: liveness waits until the first start is over
        "startupProbe": _probe("/livez", 2, 300),
        "readinessProbe": _probe("/readyz", 2, 2),
        "livenessProbe": _probe("/livez", 10, 3),
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(PRE_STOP_SECONDS)]}}},
    }
    resources = _resources(svc)
    if resources:
        container["resources"] = resources
    selector = {"app.kubernetes.io/name": labels["app.kubernetes.io/name"],
                "app.kubernetes.io/component": svc.slug}
    pod_spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": PRE_STOP_SECONDS + plan.stop_grace,
        "containers": [container],
        **_node_placement(svc, gpu_selector),
    }
    spec: dict[str, Any] = {
        "replicas": svc.replicas,
        "selector": {"matchLabels": selector},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, labels, namespace, plan),
            "spec": spec}


def _service(plan: Plan, svc: ServicePlan, name: str, labels: dict[str, str],
             namespace: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"app.kubernetes.io/name": labels["app.kubernetes.io/name"],
                     "app.kubernetes.io/component": svc.slug},
        "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
    }
    if svc.is_entry:
        spec["type"] = "ClusterIP"
    else:
        spec["clusterIP"] = "None"  # headless: DNS answers every ready pod, callers round-robin
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, labels, namespace, plan), "spec": spec}


def _autoscaler(plan: Plan, svc: ServicePlan, name: str, labels: dict[str, str],
                namespace: str | None) -> dict[str, Any]:
    if svc.resources.cpu is None:
        raise InvalidConfig(f"--max-replicas {svc.name}: the autoscaler scales on CPU use relative to the request; "
                            f"set resources.cpu of service {svc.name}")
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(name, labels, namespace, plan),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": svc.replicas,
            "maxReplicas": svc.max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": CPU_TARGET}}}],
        },
    }


def object_name(plan_or_bento: str, slug: str) -> str:
    """``<bento>-<service>`` as a DNS label (Service names are DNS-1035: they start with a letter)."""
    name = dns_label(f"{plan_or_bento}-{slug}")
    return name if name[0].isalpha() else f"b-{name}"[:63].rstrip("-")


def documents(manifest: Mapping[str, Any], *, image: str, replicas: Mapping[str, int] | None = None,
              max_replicas: Mapping[str, int] | None = None, namespace: str | None = None,
              gpu_node_selector: Mapping[str, str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{file stem: [objects]}``: per service its Deployment, Service and, with a ceiling, autoscaler."""
    bento = str(manifest.get("name") or "bento")
    if namespace is not None:
        namespace = namespace.strip()
        if not namespace or dns_label(namespace) != namespace:
            raise InvalidArgument(f"--namespace {namespace!r} is not a DNS label (lower case, digits, `-`)")
    plan = make_plan(manifest, image, lambda slug: f"http://{object_name(bento, slug)}:{PORT}",
                     replicas=replicas, max_replicas=max_replicas)
    selector = dict(gpu_node_selector or {})
    out: dict[str, list[dict[str, Any]]] = {}
    for svc in plan.services:
        name = object_name(bento, svc.slug)
        labels = _labels(plan, svc, name)
        objects = [_deployment(plan, svc, name, labels, namespace, selector),
                   _service(plan, svc, name, labels, namespace)]
        if svc.max_replicas is not None:
            objects.append(_autoscaler(plan, svc, name, labels, namespace))
        out[name] = objects
    return out


class _Plain(yaml.SafeDumper):
    """Writes a mapping used twice (pod and object labels) out twice instead of as a YAML alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(objects: list[dict[str, Any]], bento_tag: str) -> str:
    header = f"# Generated by `bento deploy {bento_tag} --target kubernetes`; apply with `kubectl apply -f`.\n"
    return header + "---\n".join(yaml.dump(o, Dumper=_Plain, sort_keys=False) for o in objects)


def write(manifest: Mapping[str, Any], output: Path, *, image: str, **options: Any) -> list[Path]:
    """Write ``<bento>-<service>.yaml`` per service into ``output``; every file or none (all are rendered,
    and so validated, before the first is written)."""
    docs = documents(manifest, image=image, **options)
    tag = f"{manifest.get('name')}:{manifest.get('version')}"
    texts = {f"{stem}.yaml": render(objects, tag) for stem, objects in docs.items()}
    if output.exists() and not output.is_dir():
        raise InvalidArgument(f"--write {output}: not a directory")
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in texts.items():
        fd, temp = tempfile.mkstemp(prefix=f".{filename}.", dir=output)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(temp, output / filename)
        written.append(output / filename)
    return written
