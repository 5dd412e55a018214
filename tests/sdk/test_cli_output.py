"""Every command that prints records takes the same `-o` formats, and each format prints the same record."""

from __future__ import annotations

import json

import click
import yaml

from bento.cli import COMMANDS, LazyGroup, cli
from bento.cli.output import FORMATS
from utils import run_cli  # tests/utils.py


def _all_commands() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    found: dict[str, click.Command] = {}
    for name in COMMANDS:
        command = LazyGroup.get_command(cli, ctx, name)  # type: ignore[arg-type]
        assert command is not None
        subs = command.commands if isinstance(command, click.Group) else {"": command}
        for sub, cmd in subs.items():
            found[f"{name} {sub}".strip()] = cmd
    return found


def test_one_set_of_output_formats() -> None:
    choices = {}
    for name, command in _all_commands().items():
        for param in command.params:
            if "-o" in getattr(param, "opts", []):
                assert isinstance(param.type, click.Choice)
                choices[name] = (tuple(param.type.choices), param.default)
    assert set(choices) >= {"build", "containerize", "list", "get", "import", "models list", "models get",
                            "models import", "models verify"}
    assert set(choices.values()) == {(FORMATS, "text")}, choices


def test_every_format_prints_the_same_records() -> None:
    import bento

    with bento.models.create("fmt") as m:
        (m.path / "w.txt").write_text("1")
    tag = str(m.model.tag)
    as_json = json.loads(run_cli("models", "list", "-o", "json").stdout)
    as_yaml = yaml.safe_load(run_cli("models", "list", "-o", "yaml").stdout)
    assert as_json == as_yaml and [r["tag"] for r in as_json] == [tag]
    assert run_cli("models", "list", "-o", "tag").stdout.split() == [tag]
    assert run_cli("models", "list").stdout.splitlines()[0].split()[:3] == ["TAG", "SIZE", "CREATED"]
    assert run_cli("models", "get", "fmt", "-o", "tag").stdout.strip() == tag
    assert yaml.safe_load(run_cli("models", "get", "fmt").stdout)["tag"] == tag  # text: a YAML view
    verified = run_cli("models", "verify", "fmt", "-o", "yaml")
    assert yaml.safe_load(verified.stdout) == {"tag": tag, "ok": True, "problems": []}
