"""The Docker build context of a bento: the bento's files plus the models it references.

Layout (the contract with the rendered Dockerfile, ``env/docker/Dockerfile`` of the bento)::

    <context>/
      bento.yaml, src/, env/, apis/, README.md ...   the bento directory, file for file
      models-store/                                  a store root holding only the referenced models
        models/<name>/<version>/...                  (written by the store's ``copy_in``)
      env/docker/ca-certificates.crt                 only when the host pins a CA bundle for pip and
                                                     the bento is not vendored (see ``host_ca_bundle``);
                                                     the Dockerfile's Python stage trusts it, and the
                                                     final image does not contain it

The bento's files are hard-linked from the store where the filesystem allows it; the models go through
the store's ``copy_in``, which verifies every file's hash on the way (an altered model is never built
into an image). The Docker SDK then streams the directory to the engine.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bento.core.errors import ContainerizeError
from bento.core.project import read_bento_manifest

MODELS_DIR = "models-store"
CA_FILE = "env/docker/ca-certificates.crt"
DOCKERFILE = "env/docker/Dockerfile"


@dataclass(frozen=True)
class BentoRef:
    """A bento on disk and the manifest keys containerize needs."""

    path: Path
    name: str
    version: str
    digest: str
    models: tuple[tuple[str, str], ...]  # (tag, digest)
    vendored: bool
    manifest: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.version}"


def read_bento(path: Path) -> BentoRef:
    """Read the bento directory ``path`` (``bento.core.project``); a bento without a Dockerfile is refused."""
    manifest = read_bento_manifest(path)
    if not (path / DOCKERFILE).is_file():
        raise ContainerizeError(f"bento {manifest.tag} has no {DOCKERFILE}; rebuild it with `bento build`")
    return BentoRef(
        path=path,
        name=manifest.name,
        version=manifest.version,
        digest=manifest.digest,
        models=manifest.models,
        vendored=_is_vendored(path, manifest.data),
        manifest=manifest.data,
    )


def _is_vendored(path: Path, data: dict[str, Any]) -> bool:
    """A vendored bento installs from its own wheels with ``--no-index`` and needs no network or CA."""
    for holder in (data.get("build") or {}, data.get("build_config") or {}, data):
        python = holder.get("python") if isinstance(holder, dict) else None
        if isinstance(python, dict) and python.get("vendor"):
            return True
    wheels = path / "env" / "python" / "wheels"
    return wheels.is_dir() and any(wheels.iterdir())


def host_ca_bundle(environ: os._Environ[str] | dict[str, str] | None = None) -> Path | None:
    """The CA bundle the host tells pip to trust (``PIP_CERT``, pip's config ``cert``), if any.

    A build on a machine behind a TLS-intercepting proxy needs the same bundle inside the build
    container to reach the package index. The general ``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE`` count
    too, since pip honours them through its TLS stack.
    """
    env = os.environ if environ is None else environ
    candidates: list[str] = [env.get("PIP_CERT", "")]
    config_files = [env.get("PIP_CONFIG_FILE", ""), "/etc/pip.conf",
                    str(Path.home() / ".config" / "pip" / "pip.conf"), str(Path.home() / ".pip" / "pip.conf")]
    for conf in config_files:
        if conf and Path(conf).is_file():
            parser = configparser.ConfigParser()
            try:
                parser.read(conf, encoding="utf-8")
            except configparser.Error:
                continue
            for section in ("install", "global"):
                if parser.has_option(section, "cert"):
                    candidates.append(parser.get(section, "cert"))
    candidates += [env.get("SSL_CERT_FILE", ""), env.get("REQUESTS_CA_BUNDLE", "")]
    for candidate in candidates:
        if candidate and Path(candidate).expanduser().is_file():
            return Path(candidate).expanduser()
    return None


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (same filesystem), else copy it with its mode."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def link_tree(src: Path, dst: Path) -> None:
    """Mirror the regular files and directories under ``src`` into ``dst``; symlinks are refused."""
    for dirpath, dirnames, filenames in os.walk(src):
        base = Path(dirpath)
        rel = base.relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(dirnames + filenames):
            item = base / name
            if item.is_symlink():
                raise ContainerizeError(
                    f"{item} is a symbolic link; a bento holds regular files only, rebuild it"
                )
        for name in filenames:
            link_or_copy(base / name, dst / rel / name)


def _scratch_dir() -> Path:
    """A new empty directory on the store's filesystem when possible (so hard links work)."""
    from bento.store.paths import default_home

    for parent in (default_home() / ".tmp", None):
        try:
            if parent is not None:
                parent.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix="containerize-", dir=parent))
        except OSError:
            continue
    raise ContainerizeError("cannot create a temporary build context directory")  # pragma: no cover


def _quote(value: str) -> str:
    """A double-quoted Dockerfile word: JSON escapes, and ``$`` escaped against variable expansion."""
    return json.dumps(value, ensure_ascii=False).replace("$", "\\$")


ModelCopier = Callable[[str, str, Path], None]


def copy_models_with_store(tag: str, digest: str, models_root: Path) -> None:
    """Copy one model from the user's store into the store rooted at ``models_root``."""
    from bento.store import open_store

    model = open_store().models.get(tag)
    found = model.digest
    if digest and found != digest:
        raise ContainerizeError(
            f"model {tag} in the store has digest {found}, but the bento was built with {digest}; "
            "the model changed since the build: rebuild the bento with `bento build`"
        )
    open_store(models_root).models.copy_in(model, sync=False)  # a throwaway context: no fsync
    # The store's staging area is empty after a copy; keep it out of the image.
    shutil.rmtree(models_root / ".tmp", ignore_errors=True)


class BuildContext:
    """A temporary build context directory; removed on ``close()`` / leaving the ``with`` block."""

    def __init__(self, bento: BentoRef, *, ca_bundle: Path | None = None,
                 copy_model: ModelCopier = copy_models_with_store,
                 on_status: Callable[[str], None] | None = None) -> None:
        self.bento = bento
        self.path = _scratch_dir()
        try:
            link_tree(bento.path, self.path)
            models_root = self.path / MODELS_DIR
            models_root.mkdir(exist_ok=True)
            for tag, digest in bento.models:
                if on_status is not None:
                    on_status(f"copying model {tag} into the build context (hashes verified)")
                copy_model(tag, digest, models_root)
            if ca_bundle is not None and not bento.vendored:
                # Unlink first: the path may be a hard link into the store, never write through it.
                (self.path / CA_FILE).unlink(missing_ok=True)
                shutil.copyfile(ca_bundle, self.path / CA_FILE)
        except BaseException:
            self.close()
            raise

    @property
    def dockerfile(self) -> str:
        return DOCKERFILE

    def append_labels(self, labels: dict[str, str]) -> None:
        """End the context's Dockerfile with one ``LABEL`` instruction carrying ``labels``.

        The engine API's ``labels`` option appends one LABEL step per label, each a container start;
        a single instruction is one step. The bento's own Dockerfile (hard-linked) is left untouched.
        """
        if not labels:
            return
        path = self.path / DOCKERFILE
        text = path.read_text(encoding="utf-8")
        pairs = " \\\n      ".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(labels.items()))
        path.unlink()  # a hard link into the store: replace it, never write through it
        path.write_text(text.rstrip("\n") + f"\n\n# Added by `bento containerize`.\nLABEL {pairs}\n",
                        encoding="utf-8")

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> BuildContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
