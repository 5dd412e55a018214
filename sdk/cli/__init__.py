"""The ``bento`` command: a root click group whose sub-commands load only when they run."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from bento.core.version import __version__

# command name -> "module:attribute"; each module owns one command or command group.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("bento.cli.serve:serve", "Serve a service, a project directory or a built bento."),
    "build": ("bento.cli.build:build", "Build a reproducible bento from a project."),
    "containerize": ("bento.cli.containerize:containerize", "Build a container image from a bento."),
    "deploy": ("bento.cli.deploy:deploy", "Deploy each service of a bento on Docker Swarm or Kubernetes."),
    "models": ("bento.cli.models:models", "Manage models in the local store."),
    "list": ("bento.cli.bentos:list_bentos", "List bentos in the local store."),
    "get": ("bento.cli.bentos:get_bento", "Show one bento."),
    "delete": ("bento.cli.bentos:delete_bento", "Delete a bento."),
    "export": ("bento.cli.bentos:export_bento", "Export a bento to an archive file or URL."),
    "import": ("bento.cli.bentos:import_bento", "Import a bento from an archive file or URL."),
    "push": ("bento.cli.bentos:push_bento", "Copy a bento to a remote store (fsspec URL)."),
    "pull": ("bento.cli.bentos:pull_bento", "Copy a bento from a remote store (fsspec URL)."),
    "env": ("bento.cli.env:env", "Show the environment: versions, store, BentoML compatibility."),
}
# BentoML's spellings, accepted but not listed in --help.
ALIASES: dict[str, str] = {"serve-http": "serve"}


class LazyGroup(click.Group):
    """Lists every command in ``--help`` but imports a command's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        spec = COMMANDS.get(ALIASES.get(cmd_name, cmd_name))
        if spec is None:
            return None
        module_name, _, attr = spec[0].partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # `bento --help` shows the one-line summaries without importing any command module.
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bento")
def cli() -> None:
    """Bento: from a training script to a running, reproducible container.

    \b
    Typical flow:
      bento serve service.py:MyService     try the service locally
      bento build                          bundle it into a versioned bento
      bento serve my_service:latest        serve what was built
      bento containerize my_service:latest build a Docker image
    """


def main(argv: list[str] | None = None, prog_name: str = "bento") -> Any:
    """Console-script entry point: BentoErrors become one line on stderr and their exit code."""
    from bento.errors import BentoError

    try:
        return cli.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BentoError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
