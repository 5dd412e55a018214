"""The service schema that BentoML's own clients read (``/schema.json``), so that ``bentoml.SyncHTTPClient``
and ``AsyncHTTPClient`` from a real BentoML installation can call a Bento server.

One entry per API: ``name``, ``route``, ``doc``, ``input`` (a JSON schema whose ``properties`` are the
parameters, file parameters typed ``"file"``, or a root input's own schema marked ``root_input``) and
``output`` (``{"type": "string"}`` for text, ``"format": "binary"`` for bytes, ``"type": "file"`` for
files (``"pil": true`` for images), ``is_stream`` for generators, otherwise the JSON schema of the result).
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from bento.core.schema import Signature, strip_annotated
from bento.core.services import APIMethod, Service

FILE = {"type": "file", "format": "binary"}


def _input(sig: Signature) -> dict[str, Any]:
    schema = sig.input_model.model_json_schema()
    props = schema.get("properties", {})
    for param in sig.params:
        if param.is_file and param.name in props:
            is_list = props[param.name].get("type") == "array"
            props[param.name] = {"type": "array", "items": dict(FILE)} if is_list else dict(FILE)
    if sig.root_input:
        name = sig.params[0].name
        root = dict(props.get(name, {}))
        root.pop("title", None)
        if "$defs" in schema:
            root["$defs"] = schema["$defs"]
        root["root_input"] = True
        return root
    return schema


def _output(sig: Signature) -> dict[str, Any]:
    kind = sig.output_kind
    media = {"media_type": sig.output_content_type} if sig.output_content_type else {}
    if kind == "text":
        return {"type": "string", **media}
    if kind == "bytes":
        return {"type": "string", "format": "binary", **media}
    if kind == "file":
        return {**FILE, **media}
    if kind == "image":  # BentoML's clients open such a file answer as a PIL image
        return {"type": "file", "format": "image", "pil": True, **media}
    if kind == "stream":
        base, _ = strip_annotated(sig.output_annotation)
        args = typing.get_args(base)
        item = strip_annotated(args[0])[0] if args else Any
        if item in (str, bytes):
            return {"type": "string", "is_stream": True, **({"format": "binary"} if item is bytes else {}), **media}
        try:
            schema = sig.output_adapter.json_schema()
        except Exception:  # an item type pydantic cannot describe
            schema = {}
        items = schema.get("items", {}) if isinstance(schema, dict) else {}
        return {**items, "is_stream": True, **media}
    try:
        return {**sig.output_adapter.json_schema(), **media}
    except Exception:
        return {"type": "object", **media}


def _route(api: APIMethod) -> dict[str, Any]:
    doc = inspect.getdoc(api.func)
    return {"name": api.name, "route": api.route, "doc": doc,
            "input": _input(api.signature), "output": _output(api.signature), "is_task": bool(api.is_task)}


def service_schema(service: Service[Any]) -> dict[str, Any]:
    """``/schema.json``: what BentoML's clients need to build one method per API."""
    return {"name": service.name, "type": "service",
            "routes": [_route(api) for api in sorted(service.apis.values(), key=lambda a: a.name)]}
