"""What a bento's manifest says about its services: every service in the graph with its configuration and
its APIs with their request/response schemas, and the models they reference.

Everything here is a pure function of the service definitions, so it can feed the content-hash version.
"""

from __future__ import annotations

import importlib
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from bento.core.errors import BentoError, BuildError, ServiceLoadError
from bento.core.services import APIMethod, Service


def _schema_of(fn: Any) -> Any:
    try:
        return fn()
    except Exception as exc:  # a type pydantic cannot describe is not a build failure
        return {"description": f"no JSON schema ({type(exc).__name__})"}


def describe_api(api: APIMethod) -> dict[str, Any]:
    sig = api.signature
    return {
        "name": api.name,
        "route": api.route,
        "input_kind": sig.input_kind,
        "output_kind": sig.output_kind,
        "output_content_type": sig.output_content_type,
        "batchable": api.batchable,
        "input": _schema_of(sig.input_model.model_json_schema),
        "output": _schema_of(lambda: sig.io.describe(sig.output_adapter.json_schema)),
    }


def describe_service(svc: Service[Any]) -> dict[str, Any]:
    return {
        "name": svc.name,
        "import_string": svc.import_string,
        "config": svc.config.model_dump(mode="json"),
        "apis": [describe_api(a) for a in sorted(svc.apis.values(), key=lambda a: a.name)],
        "dependencies": sorted(
            [
                {"attr": attr, "service": d.on.name if d.on is not None else None, "url": d.url}
                for attr, d in svc.dependencies.items()
            ],
            key=lambda d: str(d["attr"]),
        ),
    }


def model_tags(services: list[Service[Any]]) -> list[str]:
    """The model tags the services hold as class attributes (``bento.models.get(...)`` results)."""
    tags = []
    for svc in services:
        for model in svc.models:
            tag = getattr(model, "tag", None)
            if tag is not None:
                tags.append(str(tag))
    return tags


@contextmanager
def isolated_import(project_dir: Path) -> Iterator[None]:
    """Import user code from ``project_dir`` and forget its modules afterwards.

    Repeated builds in one process (tests, the benchmark) must not see a previous project's ``service``
    module; third-party modules stay imported (re-importing C extensions is unsafe).
    """
    saved_path = list(sys.path)
    before = set(sys.modules)
    root = str(project_dir.resolve())
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            module = sys.modules[name]
            locations = [getattr(module, "__file__", None) or "", *(getattr(module, "__path__", None) or [])]
            if any(str(loc).startswith(root) for loc in locations):
                sys.modules.pop(name, None)
        importlib.invalidate_caches()


def load_services(target: str, project_dir: Path) -> tuple[Service[Any], list[Service[Any]]]:
    """Import the entry service and its graph; errors of user code become a :class:`BuildError`."""
    from bento.core.loader import import_service

    try:
        entry = import_service(target, project_dir)
    except ServiceLoadError as exc:
        raise BuildError(f"cannot build: {exc}") from exc
    except BentoError:
        raise  # NotFound of a missing model or file, InvalidConfig of a service: already clear
    except Exception as exc:
        raise BuildError(f"importing the service {target!r} from {project_dir} failed: "
                         f"{type(exc).__name__}: {exc}") from exc
    return entry, entry.graph()
