"""Which services of a graph run in this container (``bento serve --service NAME``).

A bento image serves its whole graph by default: the entry service on the public port, each dependency
behind a Unix socket. A deployment that gives each service its own container serves one of them
(``select_service``) and names the dependencies living in other containers with
``BENTO_DEPENDENCY_URL_<NAME>`` (:mod:`bento.runtime.http_remote`); ``local_graph`` is then what is left
to run here: the selected service and the dependencies nobody placed elsewhere.
"""

from __future__ import annotations

from typing import Any

from bento.core.errors import InvalidArgument
from bento.core.services import Service


def select_service(entry: Service[Any], name: str) -> Service[Any]:
    """The service called ``name`` in ``entry``'s graph (``bento serve --service``)."""
    for svc in entry.graph():
        if svc.name == name:
            return svc
    names = ", ".join(svc.name for svc in entry.graph())
    raise InvalidArgument(f"--service {name}: {entry.name} has no service of that name in its graph ({names})")


def local_graph(entry: Service[Any], remote: set[str]) -> list[Service[Any]]:
    """``entry.graph()`` without the services in ``remote`` and what only they depend on."""
    seen: dict[int, Service[Any]] = {}
    stack = [entry]
    while stack:
        svc = stack.pop(0)
        if id(svc) in seen:
            continue
        seen[id(svc)] = svc
        stack.extend(d.on for d in svc.dependencies.values()
                     if d.on is not None and d.url is None and d.on.name not in remote)
    return list(seen.values())
