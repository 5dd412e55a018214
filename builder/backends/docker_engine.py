"""The Docker engine backend: the engine's HTTP API through the Docker SDK's low-level client.

The engine is the one ``docker`` uses: ``DOCKER_HOST`` (and the ``DOCKER_TLS_*`` settings) when set, else
the local socket. Builds use the classic builder's streamed JSON events; the engine's cache serves
unchanged layers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from bento.builder.backends.base import BuildRequest, ContainerBackend, LogSink, base_image_hint, last_line
from bento.core.errors import ContainerizeError

if TYPE_CHECKING:
    import docker

CONNECT_TIMEOUT = 10  # seconds for the version handshake, so an unresponsive DOCKER_HOST fails fast
BUILD_TIMEOUT = 2 * 60 * 60  # seconds without a byte from the engine before giving up
LOG_TAIL = 25  # lines of build output replayed in the error of a failed build


class DockerEngine(ContainerBackend):
    """Images built and managed by a Docker engine; connecting checks that the engine answers."""

    name: ClassVar[str] = "docker"

    def __init__(self, client: docker.APIClient | None = None) -> None:
        self.api = client if client is not None else connect()

    def build(self, request: BuildRequest, on_log: LogSink | None = None) -> str:
        import docker

        replaced = self._id_of(request.tag)
        tail: list[str] = []
        image_id = ""
        step = ""  # the Dockerfile instruction running now (`Step 2/20 : FROM ...`)
        try:
            stream = self.api.build(
                path=str(request.context),
                dockerfile=request.dockerfile,
                tag=request.tag,
                buildargs=dict(request.build_args) or None,
                nocache=request.no_cache,
                rm=True,
                forcerm=True,
                platform=request.platform,
                network_mode=request.network,
                decode=True,
            )
            failure = ""
            for event in stream:  # read to the end even after an error, so the connection is released
                if "error" in event and not failure:
                    detail = (event.get("errorDetail") or {}).get("message") or event["error"]
                    log = "".join(tail[-LOG_TAIL:]).rstrip()
                    failure = (f"docker build of {request.subject} failed: {str(detail).strip()}"
                               + (f"\n--- last build output ---\n{log}" if log else ""))
                    if step.startswith("FROM ") and step.split()[1] not in ("base", "python-env"):
                        failure = base_image_hint(request.base_image, str(detail).strip())
                if failure:
                    continue
                aux = event.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = str(aux["ID"])
                line = _event_line(event)
                if line:
                    if line.startswith("Step ") and " : " in line:
                        step = line.split(" : ", 1)[1].strip()
                    tail.append(line)
                    del tail[:-200]
                    if on_log is not None:
                        on_log(line)
            if failure:
                raise ContainerizeError(failure)
        except docker.errors.APIError as exc:
            _release(exc)
            raise ContainerizeError(
                f"the Docker engine refused the build of {request.subject}: {last_line(exc)}") from exc
        except docker.errors.DockerException as exc:
            raise ContainerizeError(f"docker build of {request.subject} failed: {last_line(exc)}") from exc
        if not image_id:
            try:
                image_id = str(self.api.inspect_image(request.tag)["Id"])
            except docker.errors.DockerException as exc:
                raise ContainerizeError(
                    f"docker build of {request.subject} finished without an image: {last_line(exc)}") from exc
        self._drop_if_untagged(replaced, image_id)
        return image_id

    def tag(self, image: str, reference: str) -> None:
        import docker
        from docker.utils import parse_repository_tag

        repo, tag = parse_repository_tag(reference)
        replaced = self._id_of(reference)
        try:
            self.api.tag(image, repo, tag or "latest")
        except docker.errors.DockerException as exc:
            raise ContainerizeError(f"the Docker engine could not tag {image} as {reference}: {last_line(exc)}") \
                from exc
        self._drop_if_untagged(replaced, image)

    def _id_of(self, reference: str) -> str | None:
        """The image ``reference`` names now, if any (a build or tag is about to move it)."""
        import docker

        try:
            return str(self.api.inspect_image(reference)["Id"])
        except docker.errors.DockerException as exc:
            _release(exc)
            return None

    def _drop_if_untagged(self, old: str | None, new: str) -> None:
        """Remove the image a rebuild under the same tag left without any tag (hundreds of MB of dangling
        layers each time). One another tag names, or a container uses, stays: the engine refuses."""
        import docker

        if old is None or old == new or self._id_of(new) == old:
            return
        try:
            if not self.api.inspect_image(old).get("RepoTags"):
                self.api.remove_image(old, noprune=False)
        except docker.errors.DockerException as exc:
            _release(exc)

    def image_size(self, image: str) -> int:
        return int(self._inspect(image).get("Size") or 0)

    def exists(self, reference: str) -> bool:
        import docker

        try:
            self.api.inspect_image(reference)
        except docker.errors.ImageNotFound as exc:
            _release(exc)
            return False
        return True

    def remove(self, reference: str) -> None:
        import docker

        try:
            self.api.remove_image(reference, force=True)
        except docker.errors.ImageNotFound as exc:
            _release(exc)
        except docker.errors.DockerException as exc:
            _release(exc)
            raise ContainerizeError(f"the Docker engine could not remove {reference}: {last_line(exc)}") from exc

    def close(self) -> None:
        self.api.close()

    def _inspect(self, image: str) -> dict[str, Any]:
        import docker

        try:
            info: dict[str, Any] = self.api.inspect_image(image)
        except docker.errors.DockerException as exc:
            _release(exc)
            raise ContainerizeError(f"the Docker engine cannot inspect {image}: {last_line(exc)}") from exc
        return info


def connect(timeout: float = CONNECT_TIMEOUT) -> docker.APIClient:
    """A low-level client for the engine named by ``DOCKER_HOST`` (or the local socket), checked alive."""
    import docker
    from docker.utils import kwargs_from_env

    kwargs: dict[str, Any] = kwargs_from_env()
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (the default)"
    try:
        # version="auto" asks the engine for its API version: this is the liveness check.
        client = docker.APIClient(version="auto", timeout=timeout, **kwargs)
    except docker.errors.DockerException as exc:
        raise ContainerizeError(
            f"no Docker engine is reachable at {where} ({engine_reason(exc)}). Start one (for example "
            "`sudo dockerd &`) or set DOCKER_HOST to a running engine, such as "
            "DOCKER_HOST=unix:///run/user/1000/docker.sock or DOCKER_HOST=tcp://host:2375"
        ) from exc
    # A build streams nothing while a long step runs (pip installing a large wheel): be patient.
    client.timeout = BUILD_TIMEOUT
    return client


# Plain words for why the engine did not answer, matched in the client's error text (which nests the
# socket error inside HTTP-library wrappers nobody needs to read).
_ENGINE_REASONS = (
    (("FileNotFoundError", "No such file"), "no socket at that path"),
    (("PermissionError", "Permission denied"), "permission denied: add your user to the `docker` group or "
                                               "use sudo"),
    (("Connection refused", "ConnectionRefusedError"), "nothing accepts connections there"),
    (("timed out", "Timeout"), "no answer in time"),
    (("Name or service not known", "nodename nor servname", "No address associated"), "unknown host name"),
)


def engine_reason(exc: BaseException) -> str:
    text = str(exc)
    for needles, reason in _ENGINE_REASONS:
        if any(n in text for n in needles):
            return reason
    return "it does not answer the Docker API"


def _release(exc: BaseException) -> None:
    """Give an error response's connection back to the pool (an unread body would keep its socket open)."""
    response = getattr(exc, "response", None)
    if response is not None:
        response.close()


def _event_line(event: dict[str, Any]) -> str | None:
    """The human-readable line of one streamed build event (a build step's output or a pull status)."""
    line = event.get("stream")
    if line is None and event.get("status"):
        line = f"{event['status']} {event.get('progress', '')}".rstrip() + "\n"
    return line if isinstance(line, str) else None
