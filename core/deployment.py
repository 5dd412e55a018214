"""The contract between a deployment and the containers it starts (``bento deploy``, docs/deploy.md).

Every container runs the same bento image and serves one service of the graph, named by
:data:`SERVICE_ENV`; each dependency living in another container is named by one variable holding its
URL, :func:`url_env` (``BENTO_DEPENDENCY_URL_<NAME>``). The runtime reads these, the deploy targets
write them: both import them from here.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

SERVICE_ENV = "BENTO_SERVICE"
URL_ENV_PREFIX = "BENTO_DEPENDENCY_URL_"
GRACEFUL_ENV = "BENTO_GRACEFUL_TIMEOUT"


def url_env(service_name: str) -> str:
    """The variable holding the URL of service ``service_name``: its name upper-cased, every character
    outside ``A-Z0-9`` turned into ``_`` (``text-encoder`` -> ``BENTO_DEPENDENCY_URL_TEXT_ENCODER``)."""
    return URL_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", service_name.upper())


def urls_from(environ: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """``{service name: URL}`` for each of the service ``names`` whose URL variable is set (and not empty)."""
    found = {}
    for name in names:
        url = environ.get(url_env(name), "").strip()
        if url:
            found[name] = url
    return found
