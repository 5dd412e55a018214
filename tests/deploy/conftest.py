"""The container tests' engine fixtures (engine client, local base image, clean-up) serve here too."""

from __future__ import annotations

from container.conftest import base_image, cleanup, docker_client  # noqa: F401  (tests/ is on sys.path)
