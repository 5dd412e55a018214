"""Model references a service holds as class attributes: ``BentoModel`` and ``HuggingFaceModel``.

    class Summarizer:
        classifier = bento.models.BentoModel("iris_sklearn:latest")       # a model in the local store
        llm = bento.models.HuggingFaceModel("acme/tiny-llm", revision="main")

        def __init__(self) -> None:
            clf = joblib.load(self.classifier.path_of("model.joblib"))    # a bento.models.Model
            tokenizer = AutoTokenizer.from_pretrained(self.llm)           # a local directory (str)

Both resolve on first use and are recorded by ``bento build`` like ``bento.models.get(...)`` results: the
bento lists their exact versions and the image contains their files. A Hugging Face model is fetched
once into the local store, as the model ``hf--<org>--<name>`` whose version is the first 16 hex digits
of the resolved commit, so it is verified, exported and pinned like any stored model: serving a bento
uses the commit recorded at build time, serving source resolves ``revision`` again.

The hub is ``$HF_ENDPOINT`` (the variable ``huggingface_hub`` reads); ``HF_TOKEN`` is sent when set.
With ``HF_HUB_OFFLINE=1`` nothing is fetched: a branch or tag resolves to the newest stored download of it.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from bento.core.errors import InvalidArgument, NotFound

DEFAULT_HF_ENDPOINT = "https://huggingface.co"
_SHA = re.compile(r"^[0-9a-f]{40}$")


class BentoModel:
    """``bento.models.BentoModel("name:version")``: the stored model, resolved when first used."""

    __bento_model__ = True

    def __init__(self, tag: str) -> None:
        if not isinstance(tag, str) or not tag:
            raise InvalidArgument(f"BentoModel({tag!r}): give a model tag such as 'iris_sklearn:latest'")
        self.reference = tag
        self._model: Any = None

    def resolve(self) -> Any:
        if self._model is None:
            from bento import models

            self._model = models.get(self.reference)
        return self._model

    @property
    def tag(self) -> str:
        """The exact ``name:version`` this reference means now (what ``bento build`` records)."""
        return str(self.resolve().tag)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        return self if instance is None else self.resolve()

    def __repr__(self) -> str:
        return f"BentoModel({self.reference!r})"


class HuggingFaceModel:
    """``bento.models.HuggingFaceModel("org/name", revision="main")``: a hub snapshot's local directory."""

    __bento_model__ = True

    def __init__(self, model_id: str, revision: str = "main", endpoint: str | None = None,
                 include: list[str] | None = None, exclude: list[str] | None = None) -> None:
        if not isinstance(model_id, str) or model_id.count("/") > 1 or not model_id.strip("/"):
            raise InvalidArgument(f"HuggingFaceModel({model_id!r}): give a hub id such as 'org/name'")
        self.model_id = model_id.strip("/")
        self.revision = revision
        self.endpoint = endpoint
        self.include = list(include or [])
        self.exclude = list(exclude or [])
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def store_name(self) -> str:
        """The stored model's name: ``hf--org--name``, lowercased, with other characters as ``-``."""
        name = "hf--" + self.model_id.replace("/", "--").lower()
        return re.sub(r"[^a-z0-9._-]", "-", name)[:63]

    def resolve(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._resolve()
            return self._model

    def _resolve(self) -> Any:
        from bento import models
        from bento.store import pins

        if pins.active() is not None:  # serving a bento: the commit it recorded, whatever the hub says now
            return models.get(self.store_name)
        if _SHA.match(self.revision):
            return self._stored(self.revision) or self._download(self.revision, self._hub())
        if os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True", "YES", "yes"):
            found = [m for m in models.list(self.store_name) if m.labels.get("revision") == self.revision]
            if not found:
                raise NotFound(f"{self.model_id}@{self.revision} was never downloaded and HF_HUB_OFFLINE is set")
            return found[0]
        hub = self._hub()
        try:
            sha = hub.commit_of(self.model_id, self.revision)
            return self._stored(sha) or self._download(sha, hub)
        finally:
            hub.close()

    def _hub(self) -> Any:
        from bento.hub import Hub

        endpoint = self.endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_HF_ENDPOINT
        return Hub(endpoint, os.environ.get("HF_TOKEN"))

    def _stored(self, sha: str) -> Any:
        from bento import models

        try:
            return models.get(f"{self.store_name}:{sha[:16]}")
        except NotFound:
            return None

    def _download(self, sha: str, hub: Any) -> Any:
        from bento import models

        try:
            files = hub.files(self.model_id, sha, self.include, self.exclude)
            labels = {"source": "huggingface", "model_id": self.model_id, "revision": self.revision,
                      "commit": sha}
            with models.create(self.store_name, version=sha[:16], labels=labels) as staged:
                for name in files:
                    hub.download(self.model_id, sha, name, staged.path_of(name))
            return staged.model
        finally:
            hub.close()

    @property
    def tag(self) -> str:
        return str(self.resolve().tag)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        return self if instance is None else str(self.resolve().path)

    def __fspath__(self) -> str:
        return str(self.resolve().path)

    def __repr__(self) -> str:
        return f"HuggingFaceModel({self.model_id!r}, revision={self.revision!r})"


__all__ = ["BentoModel", "HuggingFaceModel"]
