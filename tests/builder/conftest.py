from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Callable, Iterator

import pytest

SERVICE = '''
import bento


@bento.service
class Echo:
    @bento.api
    def echo(self, text: str) -> str:
        return text
'''


@pytest.fixture(scope="session", autouse=True)
def shared_build_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One builder cache for the session: locks resolve once, our own wheel is built once."""
    cache = tmp_path_factory.mktemp("bento-cache")
    old = os.environ.get("BENTO_CACHE_DIR")
    os.environ["BENTO_CACHE_DIR"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("BENTO_CACHE_DIR", None)
    else:
        os.environ["BENTO_CACHE_DIR"] = old


MakeProject = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """Write a project: ``files`` maps relative paths to text; a bentofile is written from ``bentofile``."""

    def make(bentofile: str | None = 'service: "service:Echo"\n', files: dict[str, str] | None = None,
             name: str = "project") -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        all_files = {"service.py": SERVICE, **(files or {})}
        if bentofile is not None:
            all_files["bentofile.yaml"] = textwrap.dedent(bentofile)
        for rel, text in all_files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return root

    return make
