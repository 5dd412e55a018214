"""The OpenAPI 3.1 document of a service (served as ``/docs.json``): one POST operation per API with its
request and response schemas, taken from the pydantic models derived from the method signatures.
"""

from __future__ import annotations

from typing import Any

from bento.core.examples import example_of
from bento.core.schema import Signature
from bento.core.services import APIMethod, Service

REF = "#/components/schemas/{model}"
ERROR_SCHEMA = {
    "type": "object",
    "title": "Error",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "the error type, e.g. ValidationError"},
        "message": {"type": "string"},
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": ["string", "null"]}, "message": {"type": "string"}},
            },
        },
    },
}
BINARY = {"type": "string", "format": "binary"}


def _hoist(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Move pydantic's ``$defs`` into ``components.schemas`` (refs already point there)."""
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    return schema


def _request_body(sig: Signature, components: dict[str, Any]) -> dict[str, Any]:
    schema = _hoist(sig.input_model.model_json_schema(ref_template=REF), components)
    if sig.input_kind == "json":
        # The example pre-fills the API page and passes the API's validation as it is.
        return {"required": bool(schema.get("required")),
                "content": {"application/json": {"schema": schema, "example": example_of(schema, components)}}}
    properties = dict(schema.get("properties", {}))
    encoding: dict[str, Any] = {}
    for param in sig.params:
        if not param.is_file:
            continue
        prop = properties.get(param.name, {})
        is_list = prop.get("type") == "array"
        media = _find_media(prop)
        properties[param.name] = {"type": "array", "items": dict(BINARY)} if is_list else dict(BINARY)
        if "title" in prop:
            properties[param.name]["title"] = prop["title"]
        if media:
            encoding[param.name] = {"contentType": media}
    form = {**schema, "properties": properties}
    files = {p.name for p in sig.params if p.is_file}
    content: dict[str, Any] = {"schema": form, "example": {
        name: example_of(prop, components) for name, prop in properties.items() if name not in files}}
    if encoding:
        content["encoding"] = encoding
    return {"required": True, "content": {"multipart/form-data": content}}


def _find_media(prop: dict[str, Any]) -> str | None:
    if "contentMediaType" in prop:
        return str(prop["contentMediaType"])
    for key in ("items", "anyOf", "allOf"):
        sub = prop.get(key)
        for item in sub if isinstance(sub, list) else [sub] if isinstance(sub, dict) else []:
            found = _find_media(item)
            if found:
                return found
    return None


def _response(sig: Signature, components: dict[str, Any]) -> dict[str, Any]:
    def schema() -> dict[str, Any]:
        return _hoist(sig.output_adapter.json_schema(ref_template=REF), components)

    return {"description": "Successful response", "content": sig.io.response_content(sig.output_content_type, schema)}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}


def _operation(api: APIMethod, components: dict[str, Any]) -> dict[str, Any]:
    sig = api.signature
    operation: dict[str, Any] = {
        "operationId": api.name,
        "summary": api.name,
        "tags": ["APIs"],
        "responses": {
            "200": _response(sig, components),
            "400": _error("Invalid input (the field is named in `detail`)"),
            "500": _error("The API raised an exception"),
            "503": _error("Overloaded or not ready; retry after `Retry-After` seconds"),
            "504": _error("The API did not answer within traffic.timeout"),
        },
        "x-bento-input-kind": sig.input_kind,
        "x-bento-output-kind": sig.output_kind,
    }
    if sig.root_input:  # the whole body is the one parameter (see core/schema.py)
        operation["x-bento-root-input"] = True
    doc = (api.func.__doc__ or "").strip()
    if doc:
        operation["description"] = doc
    if sig.params:
        operation["requestBody"] = _request_body(sig, components)
    else:
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {}, "additionalProperties": False}, "example": {}}}}
    return operation


TASK_STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["task_id", "status"],
    "properties": {
        "task_id": {"type": "string"},
        "status": {"type": "string", "enum": ["in_progress", "success", "failure", "cancelled"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "executed_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def _task_paths(api: APIMethod, components: dict[str, Any]) -> dict[str, Any]:
    """``@bento.task``: submit (the API's request body), then status/get/cancel/retry by ``task_id``."""
    components.setdefault("TaskStatus", TASK_STATUS_SCHEMA)
    status = {"description": "The task's status", "content": {"application/json": {"schema": {
        "$ref": REF.format(model="TaskStatus")}}}}
    task_id = [{"name": "task_id", "in": "query", "required": True, "schema": {"type": "string"}}]
    base = api.route.rstrip("/")
    submit = _operation(api, components)
    submit["responses"] = {"200": status, "400": _error("Invalid input; nothing was queued")}
    submit.update({"summary": f"submit {api.name} as a background task", "tags": ["Tasks"],
                   "x-bento-task": True})
    result = _operation(api, components)["responses"]["200"]
    unknown = _error("No such task")
    return {
        f"{base}/submit": {"post": submit},
        f"{base}/status": {"get": {"summary": f"status of a {api.name} task", "tags": ["Tasks"],
                                   "parameters": task_id, "responses": {"200": status, "404": unknown}}},
        f"{base}/get": {"get": {"summary": f"result of a {api.name} task", "tags": ["Tasks"],
                                "parameters": task_id, "responses": {
                                    "200": result, "404": unknown, "409": _error("Still in progress")}}},
        f"{base}/cancel": {"put": {"summary": f"cancel a {api.name} task", "tags": ["Tasks"],
                                   "parameters": task_id, "responses": {
                                       "200": status, "404": unknown, "409": _error("Already finished")}}},
        f"{base}/retry": {"post": {"summary": f"run a finished {api.name} task again as a new task",
                                   "tags": ["Tasks"], "parameters": task_id, "responses": {
                                       "200": status, "404": unknown, "409": _error("Still in progress")}}},
    }


def _probe(summary: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "tags": ["Infrastructure"], "responses": {
        "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
        "503": _error("Not ready or not alive"),
    }}}


def openapi_document(service: Service[Any]) -> dict[str, Any]:
    """A valid OpenAPI 3.1 document describing every API of ``service``."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for api in service.apis.values():
        if api.is_task:
            paths.update(_task_paths(api, components))
        else:
            paths[api.route] = {"post": _operation(api, components)}
    paths["/livez"] = _probe("Liveness: the worker answers")
    paths["/readyz"] = _probe("Readiness: every worker finished __init__ and its startup hooks")
    if service.config.metrics.enabled:
        paths["/metrics"] = {"get": {"summary": "Prometheus metrics", "tags": ["Infrastructure"], "responses": {
            "200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {
                "type": "string"}}}}}}}
    info: dict[str, Any] = {"title": service.name, "version": "1.0.0"}
    if service.config.description:
        info["description"] = service.config.description
    elif service.inner.__doc__:
        info["description"] = service.inner.__doc__.strip()
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {"schemas": components},
        "tags": [{"name": "APIs", "description": f"The APIs of {service.name} (all POST)"},
                 {"name": "Tasks", "description": "Background tasks: submit, then poll status and get the result"},
                 {"name": "Infrastructure", "description": "Health and metrics"}],
    }
