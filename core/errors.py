"""The exception tree of the whole toolchain.

The root lives here, in the lowest layer, so that every layer can raise into one tree without importing
upwards (``store/`` imports no other layer). ``bento.errors`` is the public face and re-exports all of it.

    BentoError                    exit 1, HTTP 500
    ├── InvalidArgument           exit 2, HTTP 400   bad user input (a tag, a request field, a CLI value)
    │   └── InvalidConfig         exit 2, HTTP 400   a bad @service config, bentofile key or setting
    ├── NotFound                  exit 3, HTTP 404   a model, bento or route that does not exist
    ├── AlreadyExists             exit 4, HTTP 409   a tag taken by different content
    ├── InUse                     exit 4, HTTP 409   deleting an item that another stored item references
    ├── IntegrityError            exit 5, HTTP 500   stored files do not match their manifest
    ├── UnsafePath                exit 6, HTTP 400   a path or archive member escaping its root
    ├── BuildError                exit 7, HTTP 500   `bento build` could not produce a bento
    ├── ContainerizeError         exit 8, HTTP 500   `bento containerize` could not produce an image
    ├── ServiceUnavailable        exit 9, HTTP 503   overload, not ready, a batch that cannot meet its deadline
    ├── ServiceLoadError          exit 10, HTTP 500  the user's service file raised while being imported
    ├── StoreFull                 exit 11, HTTP 507  the store's disk has no room for what is being saved or imported
    ├── DeployError               exit 12, HTTP 500  `bento deploy`: the engine refused or the rollout failed
    └── RemoteError               exit 1, HTTP 502   a dependency or a remote server answered with an error

Library code raises these; only the CLI (exit code + one line) and the server (JSON body + status)
translate them.
"""

from __future__ import annotations


class BentoError(Exception):
    """Root of every error this toolchain raises on purpose."""

    exit_code: int = 1
    http_status: int = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgument(BentoError):
    exit_code = 2
    http_status = 400


class InvalidConfig(InvalidArgument):
    exit_code = 2
    http_status = 400


class NotFound(BentoError):
    exit_code = 3
    http_status = 404


class AlreadyExists(BentoError):
    exit_code = 4
    http_status = 409


class InUse(BentoError):
    """Deleting an item that another stored item still references (a model packed in a bento)."""

    exit_code = 4
    http_status = 409


class IntegrityError(BentoError):
    exit_code = 5
    http_status = 500


class UnsafePath(BentoError):
    exit_code = 6
    http_status = 400


class BuildError(BentoError):
    exit_code = 7
    http_status = 500


class ContainerizeError(BentoError):
    exit_code = 8
    http_status = 500


class ServiceUnavailable(BentoError):
    exit_code = 9
    http_status = 503


class ServiceLoadError(BentoError):
    """Importing the user's service code failed; the message points at the failing line."""

    exit_code = 10
    http_status = 500


class StoreFull(BentoError):
    """The filesystem of the store ran out of space (or quota) while an item was saved or imported.

    Nothing was published and the scratch copy is already removed; the message names the store and the
    space needed.
    """

    exit_code = 11
    http_status = 507


class RemoteError(BentoError):
    """An error answered by another server; carries the remote status."""

    exit_code = 1
    http_status = 502

    def __init__(self, message: str = "", status: int = 502) -> None:
        super().__init__(message)
        self.status = status


class DeployError(BentoError):
    """``bento deploy`` could not put the bento on the cluster engine (refused, or not ready in time)."""

    exit_code = 12
    http_status = 500
