"""``bento deploy``: each service of a bento as its own replicated deployment (Docker Swarm, Kubernetes)."""

from __future__ import annotations

from pathlib import Path

import click

from bento.deploy.run import TARGETS

PUBLISH_MODES = ("ingress", "host")


def _pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    from bento.errors import InvalidArgument

    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InvalidArgument(f"{option} {item!r}: write KEY=VALUE")
        found[key] = value
    return found


@click.command("deploy", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("bento_tag", metavar="BENTO")
@click.option("--target", type=click.Choice(TARGETS), default="swarm", show_default=True,
              help="swarm: deploy on the Docker engine's swarm now; kubernetes: write manifests (--write DIR).")
@click.option("--name", "stack", metavar="STACK",
              help="Swarm stack name (required for --target swarm); re-using it updates the stack in place.")
@click.option("--replicas", multiple=True, metavar="SERVICE=N",
              help="Replicas of one service (default 1 each); repeat for several services.")
@click.option("--max-replicas", multiple=True, metavar="SERVICE=N",
              help="kubernetes: add a HorizontalPodAutoscaler scaling SERVICE up to N replicas on CPU use.")
@click.option("--publish", "port", type=click.IntRange(1, 65535), default=3000, show_default=True, metavar="PORT",
              help="swarm: the port the entry service answers on.")
@click.option("--publish-mode", type=click.Choice(PUBLISH_MODES), default="ingress", show_default=True,
              help="swarm: ingress (the routing mesh, every node answers) or host (bound on the nodes that "
                   "run the gateway; for engines where the mesh does not work).")
@click.option("--image", metavar="IMAGE", help="Image to run (default <bento name>:<version>, built when missing).")
@click.option("--namespace", metavar="NAMESPACE", help="kubernetes: namespace of every object.")
@click.option("--gpu-node-selector", multiple=True, metavar="KEY=VALUE",
              help="kubernetes: node label that GPU services are scheduled on (else resources.gpu_type).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True, metavar="SECONDS",
              help="swarm: how long to wait for every service to be ready.")
@click.option("--write", "output", type=click.Path(path_type=Path), metavar="PATH",
              help="Only write: the stack file (swarm) or a directory of manifests (kubernetes).")
def deploy(bento_tag: str, target: str, stack: str | None, replicas: tuple[str, ...],
           max_replicas: tuple[str, ...], port: int, publish_mode: str, image: str | None,
           namespace: str | None, gpu_node_selector: tuple[str, ...], timeout: float,
           output: Path | None) -> None:
    """Deploy BENTO (a tag like iris:latest, or a bento directory) with each of its services in its own
    containers, scaled on its own; dependencies are called over HTTP (BENTO_DEPENDENCY_URL_<NAME>).

    \b
    Examples:
      bento deploy iris:latest --name iris --replicas classifier=2
      bento deploy iris:latest --name iris --publish 8080 --publish-mode host
      bento deploy iris:latest --name iris --write stack.yaml     write the stack file only
      bento deploy iris:latest --target kubernetes --write k8s/ --max-replicas classifier=8
    """
    from bento.deploy import run
    from bento.deploy.plan import parse_counts
    from bento.errors import InvalidArgument

    counts = parse_counts(replicas, "--replicas")
    ceilings = parse_counts(max_replicas, "--max-replicas")
    if target == "kubernetes":
        if output is None:
            raise InvalidArgument("--target kubernetes writes manifests: give the directory with --write DIR")
        written = run.write_kubernetes(bento_tag, output, replicas=counts, max_replicas=ceilings, image=image,
                                       namespace=namespace,
                                       gpu_node_selector=_pairs(gpu_node_selector, "--gpu-node-selector"))
        for path in written:
            click.echo(str(path))
        click.echo(f"Apply them with: kubectl apply -f {output}", err=True)
        return
    if ceilings:
        raise InvalidArgument("--max-replicas is for --target kubernetes (Swarm has no autoscaler)")
    if not stack:
        raise InvalidArgument("--target swarm needs the stack name: --name STACK")
    if output is None:
        click.echo(f"Deploying {bento_tag} as stack {stack} ...", err=True)
    from bento.cli.buildlog import BuildLog

    log = BuildLog("auto")  # the image build (when missing) and the rollout, each line with its time
    try:
        result = run.deploy_swarm(bento_tag, stack, replicas=counts, port=port, mode=publish_mode, image=image,
                                  output=output, timeout=timeout, on_status=log.status, on_log=log)
    finally:
        log.close()
    if output is not None:
        click.echo(result)
        click.echo(f"Deploy it with: docker stack deploy --resolve-image never -c {result} {stack}", err=True)
        return
    click.echo(result)
    click.echo(f"Stack {stack} is ready; remove it with: docker stack rm {stack}", err=True)
