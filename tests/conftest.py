from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def builder_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One builder cache (locks, own wheels) for the whole run: warm across tests, never ~/.cache/bento."""
    return tmp_path_factory.mktemp("bento-cache")


@pytest.fixture(autouse=True)
def bento_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, builder_cache: Path) -> Path:
    """Every test gets its own empty store, so nothing touches the user's ~/bento or ~/.cache/bento."""
    home = tmp_path / "bento-home"
    monkeypatch.setenv("BENTO_HOME", str(home))
    monkeypatch.setenv("BENTO_CACHE_DIR", str(builder_cache))
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
