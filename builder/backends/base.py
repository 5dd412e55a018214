"""What a container backend must do, whatever builds the image (an engine over its API, a daemonless CLI).

``bento.builder.containerize`` prepares everything engine-independent (the bento, the build context, the
labels, the tags) and hands the backend one :class:`BuildRequest`. A backend then:

- connects when it is created, failing with :class:`ContainerizeError` that says how to make it reachable,
  *before* anything is written;
- builds the context into an image, streaming each line of output to ``on_log`` and, on failure, raising
  :class:`ContainerizeError` that carries the last lines of that output (or, when the base image cannot
  be had, :func:`base_image_hint`'s one line naming ``--base-image`` and ``BENTO_BASE_IMAGE``);
- tags, inspects (size, existence) and removes images by reference;
- is closed when done (it is a context manager).

A new backend is one module in this folder and one line in ``registry.BACKENDS``; the contract test in
``tests/container/test_backends.py`` then runs against it as well.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Callable, ClassVar, Mapping

LogSink = Callable[[str], None]


@dataclass(frozen=True)
class BuildRequest:
    """One image build: the context directory and everything the Dockerfile is built with."""

    context: Path
    dockerfile: str  # relative to ``context``
    tag: str  # the image's first reference; more are added with ``ContainerBackend.tag``
    subject: str  # what is being built, for messages (the bento tag)
    build_args: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None
    no_cache: bool = False
    network: str | None = None  # network of the RUN steps; "none" cuts them off, None is the default
    base_image: str = "the base image"  # what the first FROM pulls, for messages


class ContainerBackend(ABC):
    """A way to build and manage images; see the module docstring for the contract."""

    name: ClassVar[str]

    @abstractmethod
    def build(self, request: BuildRequest, on_log: LogSink | None = None) -> str:
        """Build ``request`` and return the image id (``sha256:...``)."""

    @abstractmethod
    def tag(self, image: str, reference: str) -> None:
        """Give ``image`` (an id or reference) the extra reference ``name[:tag]`` (default tag: latest)."""

    @abstractmethod
    def image_size(self, image: str) -> int:
        """Size in bytes of ``image``."""

    @abstractmethod
    def exists(self, reference: str) -> bool:
        """Whether an image answers to ``reference`` (an id or ``name[:tag]``)."""

    @abstractmethod
    def remove(self, reference: str) -> None:
        """Remove the reference (and the image, once nothing else names it); a missing one is no error."""

    def close(self) -> None:
        """Release connections; the default holds none."""

    def __enter__(self) -> ContainerBackend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def last_line(exc: BaseException) -> str:
    """The last line of an exception's text: engines put the useful part at the end."""
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def base_image_hint(base: str, detail: str) -> str:
    """The message for a base image the backend could not get (no registry access, a typo)."""
    return (
        f"cannot get the base image {base}: {detail}. Use an image the engine has or can pull: "
        "`bento containerize BENTO --base-image IMAGE` or BENTO_BASE_IMAGE=IMAGE (Debian-based, with "
        "python3 and python3-venv of the bento's Python version); without Docker Hub, see "
        "docs/containerize.md (\"Without Docker Hub\") to build one locally"
    )
