"""``bento.importing()``: imports a service needs only when it serves.

``bento build`` imports the service to describe it, on a machine that may lack the serving packages
(torch, a GPU library...). Inside ``with bento.importing():`` an ImportError is ignored there; under
``bento serve`` (which sets ``BENTO_SERVING=1``, as the image's entrypoint does) it is raised as usual::

    with bento.importing():
        import torch
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

logger = logging.getLogger("bento")
SERVING_ENV = "BENTO_SERVING"


def serving() -> bool:
    return os.environ.get(SERVING_ENV) == "1"


@contextlib.contextmanager
def importing() -> Iterator[None]:
    try:
        yield
    except ImportError as exc:
        if serving():
            raise
        logger.debug("ignored while not serving: %s", exc)
