"""``bento list|get|delete|export|import|push|pull``: manage built bentos in the local store."""

from __future__ import annotations

import sys

import click

from bento.cli.output import emit, output_option
from bento.cli.models import export_size, human_size, print_record, print_table, progress, run_import, run_pull, run_push, short_time

_CTX = {"help_option_names": ["-h", "--help"]}


@click.command("list", context_settings=_CTX)
@click.argument("name", required=False)
@output_option("the built bentos")
def list_bentos(name: str | None, output: str) -> None:
    """List built bentos, newest first (only versions of NAME if given)."""
    from bento.store import open_store

    items = open_store().bentos.list(name)
    rows = [(i.tag, human_size(i.size), ",".join(_model_tags(i.info)) or "-", short_time(i.creation_time))
            for i in items]
    emit([{**i.to_dict(), "models": _model_tags(i.info)} for i in items], output, lambda: print_table(
        ["TAG", "SIZE", "MODELS", "CREATED"], rows, "no bentos in the store yet; run `bento build`"))


@click.command("get", context_settings=_CTX)
@click.argument("tag")
@output_option("the bento's manifest")
def get_bento(tag: str, output: str) -> None:
    """Show a bento's manifest (service, APIs, models, files, ...). TAG may be NAME for the latest."""
    from bento.store import open_store

    item = open_store().bentos.get(tag)
    print_record({"tag": item.tag, "path": str(item.path), **item.info}, output)


@click.command("delete", context_settings=_CTX)
@click.argument("tags", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_bento(tags: tuple[str, ...], yes: bool) -> None:
    """Delete bento versions (the models they reference stay in the store)."""
    from bento.store import open_store

    store = open_store()
    for tag in tags:
        item = store.bentos.get(tag)
        if not yes and sys.stdin.isatty() and not click.confirm(f"Delete bento {item.tag}?"):
            continue
        store.bentos.delete(item.tag)
        click.echo(f"deleted bento {item.tag}")


@click.command("export", context_settings=_CTX)
@click.argument("tag")
@click.argument("destination", default=".", required=False)
@click.option("--compression", type=click.Choice(["zstd", "gzip"]), default="zstd", show_default=True,
              help="Archive compression (zstd is much faster).")
@click.option("--no-models", is_flag=True, help="Leave out the models the bento references.")
def export_bento(tag: str, destination: str, compression: str, no_models: bool) -> None:
    """Write a bento (and its models) to a .bento archive: a file, a directory or an fsspec URL."""
    from bento.store import open_store
    from bento.store.transfer import export

    with progress(f"exporting {tag}", export_size("bento", tag, not no_models)) as cb:
        where = export(open_store(), "bento", tag, destination, compression=compression,
                       include_models=not no_models, progress=cb)
    click.echo(f"exported bento {open_store().bentos.get(tag).tag} to {where}")


@click.command("import", context_settings=_CTX)
@click.argument("source")
@output_option("the imported bento")
def import_bento(source: str, output: str) -> None:
    """Import a .bento archive (path or fsspec URL) and the models it carries; every file is verified."""
    item, existed = run_import("bento", source)
    emit({"tag": item.tag, "existed": existed, "path": str(item.path)}, output, lambda: click.echo(
        f"bento {item.tag} {'already in the store (same content)' if existed else 'imported'}"))


@click.command("push", context_settings=_CTX)
@click.argument("tag")
@click.argument("url")
def push_bento(tag: str, url: str) -> None:
    """Copy a bento and its models to a remote store at an fsspec URL (file://..., s3://... with s3fs)."""
    run_push("bento", tag, url)


@click.command("pull", context_settings=_CTX)
@click.argument("tag")
@click.argument("url")
def pull_bento(tag: str, url: str) -> None:
    """Copy a bento and its models from a remote store (TAG: name, name:version or a version prefix)."""
    run_pull("bento", tag, url)


def _model_tags(info: dict[str, object]) -> list[str]:
    refs = info.get("models") or []
    return [str(r.get("tag")) for r in refs if isinstance(r, dict)] if isinstance(refs, list) else []
