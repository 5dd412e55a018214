"""The few Hugging Face hub calls a :class:`~bento.models.HuggingFaceModel` needs, over httpx.

``GET {endpoint}/api/models/{id}/revision/{revision}`` answers the commit (``sha``) a branch, tag or commit
names and the files it holds (``siblings``); ``GET {endpoint}/{id}/resolve/{sha}/{file}`` serves a file.
Files are streamed to disk; names from the hub are checked by the store before anything is written.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bento.core.errors import NotFound, RemoteError


class Hub:
    def __init__(self, endpoint: str, token: str | None = None, timeout: float = 60.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(headers=headers, timeout=timeout, follow_redirects=True)

    def _json(self, url: str, what: str) -> Any:
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach the model hub at {self.endpoint} for {what}: {exc}; "
                              "set HF_ENDPOINT, or HF_HUB_OFFLINE=1 to use what was downloaded before") from None
        if response.status_code in (401, 403, 404):
            raise NotFound(f"{what} is not on the hub at {self.endpoint} (HTTP {response.status_code}; "
                           "a private model needs HF_TOKEN)")
        if response.status_code >= 400:
            raise RemoteError(f"the hub answered HTTP {response.status_code} for {what}")
        return response.json()

    def _info(self, model_id: str, revision: str) -> dict[str, Any]:
        url = f"{self.endpoint}/api/models/{model_id}/revision/{quote(revision, safe='')}"
        info = self._json(url, f"{model_id}@{revision}")
        if not isinstance(info, dict) or not isinstance(info.get("sha"), str):
            raise RemoteError(f"the hub's answer for {model_id}@{revision} has no commit")
        return info

    def commit_of(self, model_id: str, revision: str) -> str:
        return str(self._info(model_id, revision)["sha"])

    def files(self, model_id: str, sha: str, include: list[str], exclude: list[str]) -> list[str]:
        names = [s.get("rfilename") for s in self._info(model_id, sha).get("siblings", [])]
        chosen = [n for n in names if isinstance(n, str)
                  and (not include or any(fnmatch.fnmatch(n, p) for p in include))
                  and not any(fnmatch.fnmatch(n, p) for p in exclude)]
        if not chosen:
            raise NotFound(f"{model_id}@{sha[:12]} has no files (after include/exclude)")
        return sorted(chosen)

    def download(self, model_id: str, sha: str, name: str, target: Path) -> None:
        url = f"{self.endpoint}/{model_id}/resolve/{sha}/{quote(name)}"
        with self._http.stream("GET", url) as response:
            if response.status_code >= 400:
                raise RemoteError(f"downloading {name} of {model_id}@{sha[:12]}: HTTP {response.status_code}")
            with open(target, "wb") as f:
                for chunk in response.iter_bytes(1 << 20):
                    f.write(chunk)

    def close(self) -> None:
        self._http.close()
