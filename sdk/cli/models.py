"""``bento models ...``: list, inspect, delete, export, import, verify, push and pull stored models.

The output helpers here (tables, sizes, progress bars) are shared with ``bento.cli.bentos``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import IO, Any, Callable, Iterator, Sequence

import click

from bento.cli.output import emit, output_option


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def short_time(iso: str | None) -> str:
    return (iso or "?")[:19].replace("T", " ")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> None:
    if not rows:
        click.echo(empty, err=True)
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def print_record(info: dict[str, Any], output: str) -> None:
    """One stored item's manifest: YAML for people (``text``), else as ``-o`` asks."""
    emit(info, "yaml" if output == "text" else output, lambda: None)


@contextlib.contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A click progress bar on stderr when it is a terminal; otherwise no callback at all."""
    if not sys.stderr.isatty() or total <= 0:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=False, show_percent=True) as bar:
        yield bar.update


class CountingReader:
    """A seekable file wrapper that reports bytes read (the progress of an import)."""

    def __init__(self, f: IO[bytes], report: Callable[[int], None] | None) -> None:
        self.f = f
        self.report = report

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        if self.report is not None and data:
            self.report(len(data))
        return data

    def readinto(self, b: Any) -> int:
        n = self.f.readinto(b)  # type: ignore[attr-defined]
        if self.report is not None and n:
            self.report(n)
        return int(n or 0)

    def seek(self, pos: int, whence: int = 0) -> int:
        return self.f.seek(pos, whence)

    def tell(self) -> int:
        return self.f.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True


def export_size(kind: str, tag: str, include_models: bool = True) -> int:
    from bento.store import open_store
    from bento.store.transfer import plan

    return sum(item.size for _, item in plan(open_store(), kind, tag, include_models))


def run_import(kind: str, source: str) -> tuple[Any, bool]:
    """Import with a progress bar over the archive bytes for local files."""
    from bento.store import open_store
    from bento.store.transfer import import_archive

    store = open_store()
    local = source[len("file://"):] if source.startswith("file://") else source
    if "://" in local or not os.path.isfile(local):
        return import_archive(store, kind, source)
    with open(local, "rb") as f, progress(f"importing {os.path.basename(local)}", os.path.getsize(local)) as cb:
        return import_archive(store, kind, CountingReader(f, cb))  # type: ignore[arg-type]


def run_push(kind: str, tag: str, url: str) -> None:
    """Push one item (a bento brings its models) to a remote store, with a progress bar on a terminal."""
    from bento.store import open_store
    from bento.store.transfer import push

    with progress(f"pushing {tag}", export_size(kind, tag)) as cb:
        where = push(open_store(), kind, tag, url, progress=cb)
    click.echo(f"pushed to {where}")


def run_pull(kind: str, tag: str, url: str) -> None:
    """Pull one item from a remote store; identical content already here is a no-op."""
    from bento.store import open_store
    from bento.store.transfer import pull

    item, existed = pull(open_store(), kind, tag, url)
    click.echo(f"{kind} {item.tag} {'already in the store (same content)' if existed else 'pulled'}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def models() -> None:
    """Manage models in the local store ($BENTO_HOME, default ~/bento).

    \b
    Save models from Python:  with bento.models.create("iris") as m: ...
    Then:                     bento models list
                              bento models export iris:latest ./iris.bentomodel
    """


@models.command("list")
@click.argument("name", required=False)
@output_option("the stored models")
def list_models(name: str | None, output: str) -> None:
    """List stored models, newest first (only versions of NAME if given)."""
    from bento.store import open_store

    items = open_store().models.list(name)
    rows = [(i.tag, human_size(i.size), short_time(i.creation_time),
             ",".join(f"{k}={v}" for k, v in i.labels.items())) for i in items]
    emit([i.to_dict() for i in items], output,
         lambda: print_table(["TAG", "SIZE", "CREATED", "LABELS"], rows, "no models in the store yet"))


@models.command("get")
@click.argument("tag")
@output_option("the model's manifest")
def get_model(tag: str, output: str) -> None:
    """Show a model's manifest (labels, metadata, files with sha256, ...). TAG may be NAME for the latest."""
    from bento.store import open_store

    item = open_store().models.get(tag)
    print_record({"tag": item.tag, "path": str(item.path), **item.info}, output)


@models.command("delete")
@click.argument("tags", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Delete even if a stored bento references the model.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_model(tags: tuple[str, ...], force: bool, yes: bool) -> None:
    """Delete model versions (TAG: name:version, a unique version prefix, or NAME for the latest)."""
    from bento.store import open_store

    store = open_store()
    for tag in tags:
        item = store.models.get(tag)
        if not yes and sys.stdin.isatty() and not click.confirm(f"Delete model {item.tag}?"):
            continue
        store.models.delete(item.tag, force=force)
        click.echo(f"deleted model {item.tag}")


@models.command("export")
@click.argument("tag")
@click.argument("destination", default=".", required=False)
@click.option("--compression", type=click.Choice(["zstd", "gzip"]), default="zstd", show_default=True,
              help="Archive compression (zstd is much faster).")
def export_model(tag: str, destination: str, compression: str) -> None:
    """Write a model to a .bentomodel archive: a file path, a directory or an fsspec URL (s3://...)."""
    from bento.store import open_store
    from bento.store.transfer import export

    with progress(f"exporting {tag}", export_size("model", tag)) as cb:
        where = export(open_store(), "model", tag, destination, compression=compression, progress=cb)
    click.echo(f"exported model {open_store().models.get(tag).tag} to {where}")


@models.command("import")
@click.argument("source")
@output_option("the imported model")
def import_model(source: str, output: str) -> None:
    """Import a .bentomodel archive (a path or fsspec URL); every file is verified first."""
    item, existed = run_import("model", source)
    emit({"tag": item.tag, "existed": existed, "path": str(item.path)}, output, lambda: click.echo(
        f"model {item.tag} {'already in the store (same content)' if existed else 'imported'}"))


@models.command("verify")
@click.argument("tag")
@output_option("the verification result")
def verify_model(tag: str, output: str) -> None:
    """Recompute every file hash of a model; exit code 5 and a list of problems if it was altered."""
    from bento.store import open_store
    from bento.core.errors import IntegrityError

    store = open_store()
    item = store.models.get(tag)
    with progress(f"verifying {item.tag}", _size_or_zero(item)) as cb:
        found = store.models.verify(item.tag, progress=cb)
    def text() -> None:
        for line in found:
            click.echo(f"  {line}")
        if not found:
            click.echo(f"model {item.tag} is intact")

    emit({"tag": item.tag, "ok": not found, "problems": found}, output, text)
    if found:
        raise IntegrityError(f"model {item.tag} does not match its manifest ({len(found)} problem(s))")


@models.command("push")
@click.argument("tag")
@click.argument("url")
def push_model(tag: str, url: str) -> None:
    """Copy a model to a remote store at an fsspec URL (file:///srv/models, s3://bucket/prefix with s3fs)."""
    run_push("model", tag, url)


@models.command("pull")
@click.argument("tag")
@click.argument("url")
def pull_model(tag: str, url: str) -> None:
    """Copy a model (TAG: name, name:version or a version prefix) from a remote store into this one."""
    run_pull("model", tag, url)


def _size_or_zero(item: Any) -> int:
    from bento.core.errors import IntegrityError

    try:
        return int(item.size)
    except IntegrityError:  # an unreadable manifest: verify reports it
        return 0
