"""A Swarm stack on the Docker engine: check the engine, deploy the stack file, wait for the rollout, remove.

``docker stack deploy`` (the Docker CLI) applies the file: it is what turns compose syntax into Swarm
service specs, and an update of an existing stack becomes a rolling update of each changed service.
Everything else (engine and swarm state, images, tasks) goes through the engine API.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from bento.core.errors import DeployError, NotFound

if TYPE_CHECKING:
    import docker

StatusSink = Callable[[str], None]
NAMESPACE_LABEL = "com.docker.stack.namespace"
_FAILED_UPDATE = {"paused", "rollback_started", "rollback_paused", "rollback_completed"}
GIVE_UP_AFTER = 3  # failed tasks of the current spec, none ever ready: the service cannot start


def require_manager(api: docker.APIClient) -> str:
    """The address this swarm manager advertises; errors when the engine is not a swarm manager."""
    swarm = api.info().get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active":
        raise DeployError("this Docker engine is not part of a swarm; create one with `docker swarm init` "
                          "(on a single machine: `docker swarm init --advertise-addr 127.0.0.1`)")
    if not swarm.get("ControlAvailable"):
        raise DeployError("this Docker engine is a swarm worker; run `bento deploy` against a manager node "
                          "(set DOCKER_HOST to one)")
    return str(swarm.get("NodeAddr") or "127.0.0.1")


def docker_cli() -> str:
    path = shutil.which("docker")
    if path is None:
        raise DeployError("the `docker` command is not installed; `bento deploy --target swarm` runs "
                          "`docker stack deploy` (or write the file with --write and deploy it elsewhere)")
    return path


def image_exists(api: docker.APIClient, image: str) -> bool:
    import docker

    try:
        api.inspect_image(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def services(api: docker.APIClient, stack: str) -> list[dict[str, Any]]:
    return list(api.services(filters={"label": f"{NAMESPACE_LABEL}={stack}"}))


def service_image(api: docker.APIClient, stack: str, name: str) -> str | None:
    """The image the stack's service ``name`` runs now, if the stack has that service."""
    for svc in services(api, stack):
        if svc["Spec"]["Name"] == f"{stack}_{name}":
            return str(svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])
    return None


def stack_networks(api: docker.APIClient, stack: str) -> list[dict[str, Any]]:
    return list(api.networks(filters={"label": f"{NAMESPACE_LABEL}={stack}"}))


def deploy(stack_file: str, stack: str) -> None:
    """``docker stack deploy``; a refusal is a one-line :class:`DeployError` (Docker's own message)."""
    result = subprocess.run([docker_cli(), "stack", "deploy", "--resolve-image", "never", "--prune",
                             "-c", stack_file, stack], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise DeployError(f"docker refused stack {stack!r}: {lines[-1] if lines else 'no reason given'}")


def remove(api: docker.APIClient, stack: str, wait: float = 60.0) -> None:
    """``docker stack rm`` and wait until its containers and network are gone (a re-deploy may follow)."""
    if not services(api, stack) and not stack_networks(api, stack):
        raise NotFound(f"no stack {stack!r} on this swarm (see `docker stack ls`)")
    subprocess.run([docker_cli(), "stack", "rm", stack], capture_output=True, text=True, timeout=120)
    until = time.monotonic() + wait
    label = {"label": f"{NAMESPACE_LABEL}={stack}"}
    while time.monotonic() < until:
        if not api.containers(all=True, filters=label) and not api.networks(filters=label):
            return
        time.sleep(0.5)
    raise DeployError(f"stack {stack!r} was removed but its containers or network still exist after {wait:g}s")


@dataclass
class Progress:
    """Per service: replicas wanted, tasks running the current spec, and the last task error seen."""

    wanted: int
    ready: int = 0
    stale: int = 0  # tasks of an older spec still running
    update: str = ""
    error: str = ""
    failures: int = 0  # tasks of the current spec that failed

    @property
    def done(self) -> bool:
        return self.ready >= self.wanted and self.stale == 0 and self.update not in ("updating", "rollback_started")


def progress(api: docker.APIClient, stack: str) -> dict[str, Progress]:
    found: dict[str, Progress] = {}
    nodes = None
    for svc in services(api, stack):
        spec = svc["Spec"]
        name = spec["Name"][len(stack) + 1:]
        if "Replicated" in spec.get("Mode", {}):
            wanted = int(spec["Mode"]["Replicated"].get("Replicas", 1))
        else:  # global: one per node
            nodes = nodes if nodes is not None else len(api.nodes(filters={"role": "manager"})) + \
                len(api.nodes(filters={"role": "worker"}))
            wanted = nodes
        state = Progress(wanted=wanted, update=str((svc.get("UpdateStatus") or {}).get("State") or ""))
        current = spec["TaskTemplate"]["ContainerSpec"]
        for task in api.tasks(filters={"service": svc["ID"]}):
            status = task.get("Status") or {}
            running = status.get("State") == "running" and task.get("DesiredState") == "running"
            same = task["Spec"].get("ContainerSpec") == current
            if running and same:
                state.ready += 1
            elif status.get("State") == "running" and not same:
                state.stale += 1
            if same and status.get("State") in ("failed", "rejected"):
                state.failures += 1
                state.error = str(status.get("Err") or status.get("State"))
        found[name] = state
    return found


def wait_ready(api: docker.APIClient, stack: str, names: list[str], timeout: float,
               on_status: StatusSink | None = None) -> None:
    """Until every service of ``names`` runs its wanted replicas of the current spec, healthy, with no
    older task left; reports each change of the counts through ``on_status``."""
    until = time.monotonic() + timeout
    last = ""
    states: dict[str, Progress] = {}
    while True:
        states = progress(api, stack)
        line = ", ".join(f"{n} {states[n].ready}/{states[n].wanted}" if n in states else f"{n} -" for n in names)
        if line != last and on_status is not None:
            on_status(f"waiting for {stack}: {line}")
        last = line
        failed = {n: s for n, s in states.items() if s.update in _FAILED_UPDATE}
        if failed:
            name, state = next(iter(failed.items()))
            raise DeployError(f"the update of {stack}_{name} failed and Swarm {state.update.replace('_', ' ')} "
                              f"it{': ' + state.error if state.error else ''}")
        if all(n in states and states[n].done for n in names):
            return
        broken = [n for n in names if n in states and states[n].ready == 0 and states[n].failures >= GIVE_UP_AFTER]
        if broken:
            name = broken[0]
            raise DeployError(f"service {name} of stack {stack!r} cannot start: {states[name].failures} tasks failed "
                              f"({states[name].error}); see `docker service logs {stack}_{name}`")
        if time.monotonic() >= until:
            late = [f"{n} ({states[n].ready}/{states[n].wanted}{': ' + states[n].error if states[n].error else ''})"
                    for n in names if n in states and not states[n].done]
            raise DeployError(f"stack {stack!r} was not ready after {timeout:g}s: {', '.join(late)}; see "
                              f"`docker stack ps {stack} --no-trunc`")
        time.sleep(0.5)
