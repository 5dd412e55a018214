"""``bento build``: bundle a project into a reproducible, versioned bento in the local store."""

from __future__ import annotations

from typing import Any

import click

from bento.cli.output import output_option, emit


def _parse_labels(values: tuple[str, ...]) -> dict[str, str]:
    from bento.errors import InvalidArgument

    labels = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"--label {value!r}: write labels as KEY=VALUE")
        labels[key] = val
    return labels


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("project_dir", default=".", type=click.Path(file_okay=False))
@click.option("-f", "--bentofile", default=None, metavar="FILE",
              help="Build file to use instead of DIR/bentofile.yaml (or [tool.bento] in pyproject.toml).")
@click.option("--name", default=None, help="Bento name (default: `name` in the build file, else the service name).")
@click.option("--version", "version", default=None,
              help="Use this version instead of the content hash (the build is then not reproducible by tag).")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Add a label (repeatable).")
@click.option("--vendor/--no-vendor", "vendor", default=None,
              help="Bundle the locked wheels so the image builds without network (python.vendor).")
@output_option("the built bento")
@click.option("--arg", "arguments", multiple=True, metavar="KEY=VALUE",
              help="A template argument for bentoml.use_arguments(), recorded in the bento (repeatable).")
def build(project_dir: str, bentofile: str | None, name: str | None, version: str | None,
          labels: tuple[str, ...], vendor: bool | None, output: str, arguments: tuple[str, ...]) -> None:
    """Build a bento from the project in PROJECT_DIR (default: the current directory).

    The project needs a bentofile.yaml naming its service, e.g.

    \b
        service: "service:MyService"
        include: ["*.py"]
        python:
          packages: [scikit-learn]

    The result is stored as NAME:VERSION where VERSION is a hash of the bento's content: building the same
    project again gives the same tag and changes nothing. Serve it with `bento serve NAME:latest`, build an
    image with `bento containerize NAME:latest`.
    """
    from bento.builder.build import build_bento
    from bento.core.server_info import parse_arguments

    openapi: Any = None
    try:
        from bento.core.openapi import openapi_document

        openapi = openapi_document
    except ImportError:  # the OpenAPI generator is optional for building
        pass

    quiet = output != "text"

    def progress(message: str) -> None:
        if not quiet:
            click.echo(f"  {message}...", err=True)

    result = build_bento(
        project_dir,
        bentofile=bentofile,
        name=name,
        version=version,
        labels=_parse_labels(labels),
        vendor_wheels=vendor,
        openapi=openapi,
        progress=progress,
        arguments=parse_arguments(arguments),
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    def text() -> None:
        if result.existed:
            click.echo(f"Bento {result.tag} already exists (same content); nothing changed.")
        else:
            click.echo(f"Built bento {result.tag} at {result.path}")
            click.echo(f"Next: bento serve {result.tag}   or   bento containerize {result.tag}")

    emit({"tag": result.tag, "path": str(result.path), "existed": result.existed,
          "digest": getattr(result.item, "digest", None), "warnings": result.warnings}, output, text)
