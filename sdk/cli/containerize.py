"""``bento containerize``: build a Docker image from a bento."""

from __future__ import annotations

import click

# Imported only when the command runs (the CLI registry is lazy); docker itself loads inside the build.
from bento.builder.backends.registry import BACKEND_NAMES, DEFAULT, ENV_VAR
from bento.builder.containerize import PROGRESS_MODES
from bento.cli.output import emit, output_option

@click.command(
    "containerize",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.argument("bento_tag", metavar="BENTO")
@click.option("-t", "--image-tag", "image_tags", multiple=True, metavar="IMAGE[:TAG]",
              help="Name and tag of the image; repeat for several. Default: <bento name>:<bento version>.")
@click.option("--platform", default=None, metavar="OS/ARCH",
              help="Target platform passed to the engine, e.g. linux/amd64.")
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VALUE",
              help="A Dockerfile build argument; repeat for several.")
@click.option("--network", default=None, metavar="NAME",
              help="Network for the build's RUN steps, e.g. `none` to prove a vendored bento "
                   "(bento build --vendor) builds without network access.")
@click.option("--base-image", default=None, metavar="IMAGE",
              help="Build on IMAGE instead of the bento's base image (default: $BENTO_BASE_IMAGE, else the "
                   "bento's, python:<version>-slim unless bentofile.yaml sets docker.base_image). It must "
                   "provide python3 with venv at the bento's Python version; use a local image where "
                   "Docker Hub is unreachable.")
@click.option("--no-cache", is_flag=True, help="Rebuild every layer instead of reusing the engine's cache.")
@click.option("--progress", type=click.Choice(PROGRESS_MODES), default="auto", show_default=True,
              help="Build output: auto (one line per step with the elapsed time; on a terminal also a "
                   "live line with the step's latest output), plain (every line), quiet (none).")
@output_option("the built image (tag: its image tags)")
@click.option("--backend", type=click.Choice(BACKEND_NAMES), default=None,
              help=f"What builds the image.  [env var: {ENV_VAR}; default: {DEFAULT}]")
def containerize(bento_tag: str, image_tags: tuple[str, ...], platform: str | None,
                 build_args: tuple[str, ...], network: str | None, base_image: str | None, no_cache: bool,
                 progress: str, output: str, backend: str | None) -> None:
    """Build a container image from BENTO (a tag like iris_classifier:latest, or a bento directory).

    The image holds the bento, its locked Python packages and the models it references; it runs
    `bento serve` as a non-root user on port 3000 with a HEALTHCHECK on /readyz. The default backend,
    docker, uses the engine `docker` uses: the local socket, or DOCKER_HOST when set.

    \b
    Examples:
      bento containerize iris_classifier:latest
      bento containerize iris_classifier:latest -t registry.local/iris:1.0 --progress plain
      bento containerize iris_classifier:latest --base-image bento-test-base:bookworm
      docker run --rm -p 3000:3000 iris_classifier:<version>
    """
    from bento.builder.containerize import containerize as build_image
    from bento.builder.containerize import parse_build_args
    from bento.cli.buildlog import BuildLog

    args = parse_build_args(build_args)
    log = BuildLog(progress)
    if progress != "quiet":
        click.echo(f"Building the image of {bento_tag} ...", err=True)
    try:
        result = build_image(
            bento_tag,
            tags=image_tags,
            platform=platform,
            build_args=args,
            no_cache=no_cache,
            network=network,
            base_image=base_image,
            on_log=None if progress == "quiet" else log,
            on_status=None if progress == "quiet" else log.status,
            backend=backend,
        )
    finally:
        log.close()

    def text() -> None:
        click.echo(f"Built image {', '.join(result.tags)} ({result.id}) from bento {result.bento_tag} "
                   f"in {log.elapsed():.1f}s")
        click.echo(f"Run it with: docker run --rm -p 3000:3000 {result.tags[0]}", err=True)

    emit({"bento": result.bento_tag, "tags": list(result.tags), "id": result.id, "size": result.size}, output,
         text, tag_key="tags")
