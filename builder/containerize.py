"""Build a container image from a bento, through a container backend (``bento.builder.backends``).

``containerize(ref, ...)`` resolves the bento (a store tag or a bento directory), connects to the chosen
backend *before* writing anything, assembles the build context (``bento.builder.context``) with OCI
labels, has the backend build it (each log line goes to ``on_log``) and adds the extra tags.
The temporary context is removed whatever happens.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal, Mapping

from bento.builder.backends.base import BuildRequest, ContainerBackend, LogSink
from bento.builder.backends.registry import backend_class, backend_name
from bento.builder.context import BentoRef, BuildContext, host_ca_bundle, read_bento
from bento.core.errors import InvalidArgument
from bento.core.project import is_bento

Progress = Literal["auto", "plain", "quiet"]
PROGRESS_MODES: tuple[Progress, ...] = ("auto", "plain", "quiet")

_IMAGE_REF = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
)
_BUILD_ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BASE_IMAGE_ENV = "BENTO_BASE_IMAGE"
_BASE_ARG = re.compile(r"^ARG\s+BASE_IMAGE=(\S+)\s*$", re.MULTILINE)
_FROM = re.compile(r"^FROM\s+(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class ImageResult:
    """What was built: every tag applied and the engine's image id (``sha256:...``)."""

    tags: tuple[str, ...]
    id: str
    bento_tag: str
    size: int


def resolve_bento(ref: str) -> BentoRef:
    """``ref`` is a path to a bento directory or a store tag (``name``, ``name:latest``, ``name:version``)."""
    path = Path(ref).expanduser()
    if os.sep in ref or ref.startswith((".", "~")) or is_bento(path):
        return read_bento(path.resolve())
    from bento.store import open_store

    bento = open_store().bentos.get(ref)
    return read_bento(Path(bento.path))


def parse_build_args(items: Iterable[str]) -> dict[str, str]:
    """``["K=V", ...]`` → dict; a malformed item is a named error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not _BUILD_ARG.match(key):
            raise InvalidArgument(
                f"--build-arg {item!r}: expected KEY=VALUE with KEY made of letters, digits and '_'"
            )
        out[key] = value
    return out


def check_image_tag(tag: str, option: str = "-t") -> str:
    if not _IMAGE_REF.match(tag):
        raise InvalidArgument(
            f"{option} {tag!r} is not a valid image reference; use lowercase `name[:tag]` or "
            "`registry/name:tag`, for example `iris_classifier:1.0`"
        )
    return tag


def base_image_override(explicit: str | None, dockerfile_text: str,
                        environ: Mapping[str, str] | None = None) -> str | None:
    """The base image to build on instead of the bento's own: ``--base-image`` > ``BENTO_BASE_IMAGE``.

    Bentos built by ``bento build`` declare ``ARG BASE_IMAGE``; for a Dockerfile without it an explicit
    ``--base-image`` is an error, while the environment variable (set once for a machine) is ignored.
    """
    env = os.environ if environ is None else environ
    wanted = explicit or env.get(BASE_IMAGE_ENV, "").strip() or None
    if wanted is None:
        return None
    check_image_tag(wanted, option="--base-image" if explicit else BASE_IMAGE_ENV)
    if not _BASE_ARG.search(dockerfile_text):
        if explicit:
            raise InvalidArgument(
                "--base-image: this bento's Dockerfile has no `ARG BASE_IMAGE` (it was built by an older "
                "bento or written by hand); rebuild it with `bento build`, or set `docker.base_image` "
                "in bentofile.yaml"
            )
        return None
    return wanted


def base_image_of(dockerfile_text: str, override: str | None = None) -> str:
    """The image the Dockerfile starts from (for messages)."""
    if override:
        return override
    found = _BASE_ARG.search(dockerfile_text) or _FROM.search(dockerfile_text)
    return found.group(1) if found else "the base image"


def oci_labels(bento: BentoRef, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The OCI annotations plus our own; ``created`` honours ``SOURCE_DATE_EPOCH``."""
    env = os.environ if environ is None else environ
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            when = _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc)
        except (ValueError, OverflowError) as exc:
            raise InvalidArgument(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix timestamp in seconds; unset it or fix it"
            ) from exc
    else:
        when = _dt.datetime.now(tz=_dt.timezone.utc).replace(microsecond=0)
    labels = {
        "org.opencontainers.image.title": bento.name,
        "org.opencontainers.image.version": bento.version,
        "org.opencontainers.image.created": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ai.bento.tag": bento.tag,
    }
    if bento.digest:
        labels["ai.bento.digest"] = bento.digest
    models = [str(ref["tag"]) for ref in bento.manifest.get("models") or [] if isinstance(ref, dict) and ref.get("tag")]
    if models:  # the exact model versions the image serves (bento.store.pins), comma-separated
        labels["ai.bento.models"] = ",".join(models)
    description = bento.manifest.get("description")
    if isinstance(description, str) and description.strip():
        labels["org.opencontainers.image.description"] = description.strip().splitlines()[0][:200]
    return labels


def containerize(
    ref: str,
    *,
    tags: Iterable[str] = (),
    platform: str | None = None,
    build_args: Mapping[str, str] | None = None,
    no_cache: bool = False,
    network: str | None = None,
    base_image: str | None = None,
    on_log: LogSink | None = None,
    on_status: LogSink | None = None,
    backend: ContainerBackend | str | None = None,
) -> ImageResult:
    """Build the image of bento ``ref``; the first tag defaults to ``<name>:<version>``.

    ``network`` is the network of the build's RUN steps (``"none"`` proves a vendored bento builds
    offline); ``None`` is the backend's default. ``base_image`` (else ``BENTO_BASE_IMAGE``) replaces the
    bento's base image. ``on_log`` gets each line of the build's output,
    ``on_status`` one line per preparation step of our own. ``backend`` is a connected backend (left
    open) or the name of one (``--backend``; default: ``$BENTO_CONTAINER_BACKEND``, else docker).
    """
    chosen = backend if isinstance(backend, ContainerBackend) else backend_name(backend)  # checked first
    bento = resolve_bento(ref)
    wanted = [check_image_tag(t) for t in tags] or [f"{bento.name}:{bento.version}"]
    own_backend = not isinstance(chosen, ContainerBackend)
    engine = chosen if isinstance(chosen, ContainerBackend) else backend_class(chosen)()
    try:
        with BuildContext(bento, ca_bundle=host_ca_bundle(), on_status=on_status) as context:
            context.append_labels(oci_labels(bento))
            text = (context.path / context.dockerfile).read_text(encoding="utf-8")
            override = base_image_override(base_image, text)
            args = dict(build_args or {})
            if override is not None:
                args["BASE_IMAGE"] = override
            request = BuildRequest(context=context.path, dockerfile=context.dockerfile, tag=wanted[0],
                                   subject=bento.tag, build_args=args, platform=platform,
                                   no_cache=no_cache, network=network, base_image=base_image_of(text, override))
            image_id = engine.build(request, on_log)
        for extra in wanted[1:]:
            engine.tag(image_id, extra)
        size = engine.image_size(image_id)
    finally:
        if own_backend:
            engine.close()
    return ImageResult(tags=tuple(wanted), id=image_id, bento_tag=bento.tag, size=size)
