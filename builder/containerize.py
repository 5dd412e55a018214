"""Build a container image from a bento through the Docker engine API.

``containerize(ref, ...)`` resolves the bento (a store tag or a bento directory), checks that an engine
answers *before* writing anything, assembles the build context (``bento.builder.context``), runs the
classic engine build with OCI labels, streams each log line to ``on_log`` and tags the result.
The temporary context is removed whatever happens.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Mapping

from bento.builder.context import BentoRef, BuildContext, host_ca_bundle, read_bento
from bento.core.errors import ContainerizeError, InvalidArgument
from bento.core.project import is_bento

if TYPE_CHECKING:
    import docker

Progress = Literal["auto", "plain", "quiet"]
PROGRESS_MODES: tuple[Progress, ...] = ("auto", "plain", "quiet")
LogSink = Callable[[str], None]
BUILD_TIMEOUT = 2 * 60 * 60  # seconds without a byte from the engine before giving up

_IMAGE_REF = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
)
_BUILD_ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ImageResult:
    """What was built: every tag applied and the engine's image id (``sha256:...``)."""

    tags: tuple[str, ...]
    id: str
    bento_tag: str
    size: int


def connect(timeout: float = 10) -> docker.APIClient:
    """A low-level client for the engine named by ``DOCKER_HOST`` (or the local socket), checked alive."""
    import docker
    from docker.utils import kwargs_from_env

    kwargs: dict[str, Any] = kwargs_from_env()
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (the default)"
    try:
        # A short timeout for the version handshake, so an unresponsive DOCKER_HOST fails fast.
        client = docker.APIClient(version="auto", timeout=timeout, **kwargs)
    except docker.errors.DockerException as exc:
        raise ContainerizeError(
            f"no Docker engine is reachable at {where}: {_short(exc)}. Start one (for example "
            "`sudo dockerd &`) or set DOCKER_HOST to a running engine, such as "
            "DOCKER_HOST=unix:///run/user/1000/docker.sock or DOCKER_HOST=tcp://host:2375"
        ) from exc
    # A build streams nothing while a long step runs (pip installing a large wheel): be patient.
    client.timeout = BUILD_TIMEOUT
    return client


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


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


def check_image_tag(tag: str) -> str:
    if not _IMAGE_REF.match(tag):
        raise InvalidArgument(
            f"-t {tag!r} is not a valid image reference; use lowercase `name[:tag]` or "
            "`registry/name:tag`, for example `iris_classifier:1.0`"
        )
    return tag


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
    on_log: LogSink | None = None,
    on_status: LogSink | None = None,
    client: docker.APIClient | None = None,
) -> ImageResult:
    """Build the image of bento ``ref``; the first tag defaults to ``<name>:<version>``.

    ``network`` is the network of the build's RUN steps (``"none"`` proves a vendored bento builds
    offline); ``None`` is the engine's default. ``on_log`` gets each line of the engine's output,
    ``on_status`` one line per preparation step of our own.
    """
    bento = resolve_bento(ref)
    wanted = [check_image_tag(t) for t in tags] or [f"{bento.name}:{bento.version}"]
    args = dict(build_args or {})
    own_client = client is None
    api = client if client is not None else connect()
    try:
        with BuildContext(bento, ca_bundle=host_ca_bundle(), on_status=on_status) as context:
            context.append_labels(oci_labels(bento))
            image_id = _run_build(api, context, wanted[0], bento, args, platform, no_cache, network,
                                  on_log)
        from docker.utils import parse_repository_tag

        for extra in wanted[1:]:
            repo, tag = parse_repository_tag(extra)
            api.tag(image_id, repo, tag or "latest")
        size = int(api.inspect_image(image_id).get("Size") or 0)
    finally:
        if own_client:
            api.close()
    return ImageResult(tags=tuple(wanted), id=image_id, bento_tag=bento.tag, size=size)


def _run_build(api: docker.APIClient, context: BuildContext, tag: str, bento: BentoRef,
               args: dict[str, str], platform: str | None, no_cache: bool, network: str | None,
               on_log: LogSink | None) -> str:
    import docker

    tail: list[str] = []
    image_id = ""
    try:
        stream = api.build(
            path=str(context.path),
            dockerfile=context.dockerfile,
            tag=tag,
            buildargs=args or None,
            nocache=no_cache,
            rm=True,
            forcerm=True,
            platform=platform,
            network_mode=network,
            decode=True,
        )
        for event in stream:
            if "error" in event:
                detail = (event.get("errorDetail") or {}).get("message") or event["error"]
                log = "".join(tail[-25:]).rstrip()
                raise ContainerizeError(
                    f"docker build of {bento.tag} failed: {str(detail).strip()}"
                    + (f"\n--- last build output ---\n{log}" if log else "")
                )
            aux = event.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                image_id = str(aux["ID"])
            line = event.get("stream")
            if line is None and event.get("status"):
                line = f"{event['status']} {event.get('progress', '')}".rstrip() + "\n"
            if line:
                tail.append(line)
                del tail[:-200]
                if on_log is not None:
                    on_log(line)
    except docker.errors.APIError as exc:
        raise ContainerizeError(f"the Docker engine refused the build of {bento.tag}: {_short(exc)}") from exc
    except docker.errors.DockerException as exc:
        raise ContainerizeError(f"docker build of {bento.tag} failed: {_short(exc)}") from exc
    if not image_id:
        try:
            image_id = str(api.inspect_image(tag)["Id"])
        except docker.errors.DockerException as exc:
            raise ContainerizeError(f"docker build of {bento.tag} finished without an image: {_short(exc)}") \
                from exc
    return image_id
