from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def bento_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty store, so nothing touches the user's ~/bento."""
    home = tmp_path / "bento-home"
    monkeypatch.setenv("BENTO_HOME", str(home))
    return home


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Docker tests skip without an engine, except in CI where a missing engine is a failure.
    if os.environ.get("CI") == "true":
        return
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            client.ping()
            return
        finally:
            client.close()
    except Exception:
        pass
    skip = pytest.mark.skip(reason="no reachable Docker engine (set DOCKER_HOST or start dockerd)")
    for item in items:
        if "docker" in item.keywords:
            item.add_marker(skip)
