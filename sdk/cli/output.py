"""``-o/--output``: one set of formats for every command that prints records.

``text`` (the default) is for people: a table for lists, a summary line or a YAML view for one record.
``json`` and ``yaml`` print the same records for programs; ``tag`` prints only the tag(s), one per line,
for shell scripts (``tag=$(bento build -o tag)``).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Literal, TypeVar, get_args

import click

OutputFormat = Literal["text", "json", "yaml", "tag"]
FORMATS: tuple[str, ...] = get_args(OutputFormat)
F = TypeVar("F", bound=Callable[..., Any])


def output_option(what: str) -> Callable[[F], F]:
    """The ``-o/--output`` option; ``what`` names the record(s), e.g. "the stored models"."""
    return click.option(
        "-o", "--output", type=click.Choice(FORMATS), default="text", show_default=True,
        help=f"Print {what} as text (for people), json or yaml (for programs), or only the tag(s).",
    )


def emit(records: dict[str, Any] | list[dict[str, Any]], output: str, text: Callable[[], None],
         tag_key: str = "tag") -> None:
    """Print ``records`` in ``output`` format; ``text`` prints the human form."""
    if output == "json":
        click.echo(json.dumps(records, indent=2, default=str))
    elif output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(json.loads(json.dumps(records, default=str)), sort_keys=False,
                                  allow_unicode=True).rstrip())
    elif output == "tag":
        for record in records if isinstance(records, list) else [records]:
            value = record.get(tag_key)
            for tag in value if isinstance(value, list) else [value]:
                click.echo(str(tag))
    else:
        text()
