"""Deploy a bento to a target: the selector behind ``bento deploy``.

* ``swarm``: plan, make sure the image exists (containerize it when missing), write the stack file,
  ``docker stack deploy``, wait for every service's replicas, return the entry URL.
* ``kubernetes``: plan and write the manifests (there is no cluster to apply them to here).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Mapping

from bento.core.errors import BentoError, NotFound

if TYPE_CHECKING:
    from bento.builder.context import BentoRef

Target = Literal["swarm", "kubernetes"]
TARGETS: tuple[Target, ...] = ("swarm", "kubernetes")
StatusSink = Callable[[str], None]


def _bento(ref: str) -> BentoRef:
    from bento.builder.containerize import resolve_bento

    return resolve_bento(ref)


def deploy_swarm(ref: str, stack: str, *, replicas: Mapping[str, int] | None = None, port: int = 3000,
                 mode: str = "ingress", image: str | None = None, output: Path | None = None,
                 timeout: float = 600.0, on_status: StatusSink | None = None,
                 on_log: StatusSink | None = None) -> str:
    """Deploy (or only write, with ``output``) bento ``ref`` as stack ``stack``; the entry URL or the file."""
    from bento.deploy import stack as engine
    from bento.deploy import swarm
    from bento.deploy.plan import PORT, make_plan

    bento = _bento(ref)
    plan = make_plan(bento.manifest, image or f"{bento.name}:{bento.version}",
                     lambda slug: f"http://{slug}:{PORT}", replicas=replicas)
    swarm.check_stack_name(stack, plan)
    publish = swarm.parse_publish(port, mode)
    if output is not None:
        _write(output, swarm.render(plan, publish))
        return str(output)

    from bento.builder.backends.docker_engine import DockerEngine, connect
    from bento.builder.containerize import containerize

    api = connect()  # Swarm is Docker's: the image is built by (and must be in) this very engine
    try:
        address = engine.require_manager(api)
        engine.docker_cli()
        if not engine.image_exists(api, plan.image):
            if image is not None:
                raise NotFound(f"image {image!r} is not in the Docker engine; build it with `bento containerize "
                               f"{bento.tag} -t {image}` or leave out --image")
            if on_status is not None:
                on_status(f"containerizing {bento.tag} as {plan.image}")
            containerize(str(bento.path), tags=[plan.image], backend=DockerEngine(api), on_status=on_status,
                         on_log=on_log)
        if publish.mode == "host":
            running = engine.service_image(api, stack, swarm.GATEWAY)
            keep = running if running and engine.image_exists(api, running) else plan.image
            publish = swarm.Publish(port=publish.port, mode="host", gateway_image=keep)
        existed = bool(engine.services(api, stack))
        with tempfile.TemporaryDirectory(prefix="bento-deploy-") as folder:
            path = Path(folder, "stack.yaml")
            path.write_text(swarm.render(plan, publish))
            try:
                engine.deploy(str(path), stack)
            except BentoError:
                if not existed and (engine.services(api, stack) or engine.stack_networks(api, stack)):
                    engine.remove(api, stack)  # nothing half-deployed
                raise
        if on_status is not None:
            on_status(f"deployed {bento.tag} as stack {stack}; waiting for the services to be ready")
        names = [s.slug for s in plan.services] + ([swarm.GATEWAY] if publish.mode == "host" else [])
        engine.wait_ready(api, stack, names, timeout, on_status)
    finally:
        api.close()
    return f"http://{address}:{port}"


def remove_swarm(stack: str) -> None:
    from bento.builder.backends.docker_engine import connect
    from bento.deploy import stack as engine

    api = connect()
    try:
        engine.require_manager(api)
        engine.remove(api, stack)
    finally:
        api.close()


def write_kubernetes(ref: str, output: Path, *, replicas: Mapping[str, int] | None = None,
                     max_replicas: Mapping[str, int] | None = None, image: str | None = None,
                     namespace: str | None = None, gpu_node_selector: Mapping[str, str] | None = None) -> list[Path]:
    """Write one manifest file per service into directory ``output``; the files written."""
    from bento.deploy import kubernetes

    bento = _bento(ref)
    return kubernetes.write(bento.manifest, output, image=image or f"{bento.name}:{bento.version}",
                            replicas=replicas, max_replicas=max_replicas, namespace=namespace,
                            gpu_node_selector=gpu_node_selector)


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file beside it, then one rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
