"""From a Python signature to typed request and response descriptions.

The input of an API is a pydantic model with one field per parameter (the JSON body is an object of the
named parameters). ``numpy.ndarray`` annotations get a schema that reads nested JSON lists and writes them
back; framework types an IO kind knows (PIL images, DataFrames) get that kind's pydantic hooks; upload
parameters (``pathlib.Path``, ``bytes``, images) make the request multipart/form-data. The output
kind (:mod:`bento.core.kinds`: ``text``, ``file``, ``bytes``, ``stream``, ``json``...) decides the response.
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, PydanticUserError, GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter, create_model
from pydantic_core import core_schema

from bento.core import kinds
from bento.core.context import Context
from bento.core.kinds import IOKind
from bento.core.validators import ContentType

OutputKind = str  # the name of a registered kind (bento.core.kinds): json, text, file, bytes, stream, ...
InputKind = Literal["json", "multipart"]
CONTEXT_NAMES = ("ctx", "context")


class NDArray:
    """pydantic hooks for ``numpy.ndarray``: nested lists in, nested lists out (JSON mode)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        def to_array(value: Any) -> Any:
            import numpy as np

            if isinstance(value, np.ndarray):
                return value
            if not isinstance(value, (list, tuple, int, float)) or isinstance(value, bool):
                raise ValueError(f"expected an array as nested lists of numbers, got {type(value).__name__}")
            try:
                array = np.asarray(value)
            except ValueError as exc:  # ragged nesting
                raise ValueError(f"not a rectangular array: {exc}") from None
            if array.dtype.kind not in "biufc":  # strings, None or mixed nesting inside the lists
                raise ValueError("expected an array of numbers (or booleans) as nested lists")
            return array

        def to_list(value: Any) -> Any:
            return value.tolist()

        return core_schema.no_info_plain_validator_function(
            to_array,
            serialization=core_schema.plain_serializer_function_ser_schema(to_list, when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return {"type": "array", "items": {}, "description": "an n-dimensional array as nested lists"}


def _is_ndarray(tp: Any) -> bool:
    return getattr(tp, "__module__", "") == "numpy" and getattr(tp, "__name__", "") == "ndarray"


def normalize(annotation: Any) -> Any:
    """Rewrite an annotation so pydantic understands numpy arrays (recursively through containers)."""
    if _is_ndarray(annotation) or _is_ndarray(typing.get_origin(annotation)):
        return Annotated[annotation, NDArray()]
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *meta = typing.get_args(annotation)
        if _is_ndarray(base) or _is_ndarray(typing.get_origin(base)):
            return Annotated[(base, NDArray(), *meta)]  # type: ignore[return-value]
        if (hook := kinds.param_hook(base)) is not None:  # images, DataFrames: see core/kinds
            return Annotated[(base, hook, *meta)]  # type: ignore[return-value]
        return Annotated[(normalize(base), *meta)]  # type: ignore[return-value]
    if isinstance(annotation, type) and (hook := kinds.param_hook(annotation)) is not None:
        return Annotated[annotation, hook]
    if origin in (list, dict, tuple, typing.Union, collections.abc.Sequence, collections.abc.Mapping):
        args = tuple(normalize(a) for a in typing.get_args(annotation))
        if origin is typing.Union:
            return typing.Union[args]  # type: ignore[return-value]
        return origin[args] if len(args) > 1 else origin[args[0]]
    import types

    if isinstance(annotation, types.UnionType):
        return typing.Union[tuple(normalize(a) for a in typing.get_args(annotation))]  # type: ignore[return-value]
    return annotation


def strip_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """``Annotated[X, m1, m2]`` → (X, [m1, m2]); anything else → (annotation, [])."""
    if typing.get_origin(annotation) is Annotated:
        base, *meta = typing.get_args(annotation)
        return base, list(meta)
    return annotation, []


def _is_file_type(annotation: Any) -> bool:
    base, _ = strip_annotated(annotation)
    if typing.get_origin(base) in (list, collections.abc.Sequence):
        base, _ = strip_annotated(typing.get_args(base)[0])
    return kinds.is_upload(base)


def is_context_param(name: str, annotation: Any) -> bool:
    base, _ = strip_annotated(annotation)
    if base is Context:
        return True
    return name in CONTEXT_NAMES and base in (inspect.Parameter.empty, Any)


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any
    default: Any
    is_file: bool


@dataclass(frozen=True)
class Signature:
    """Everything the server, the client generator and the builder need to know about one API."""

    params: tuple[Param, ...]
    context_param: str | None
    input_model: type[BaseModel]
    input_kind: InputKind
    output_annotation: Any
    output_kind: OutputKind
    output_content_type: str | None
    output_adapter: TypeAdapter[Any]
    root_input: bool = False  # one positional-only parameter (``def f(self, body: str, /)``) takes the whole body

    @property
    def io(self) -> IOKind:
        """The strategy object of :attr:`output_kind` (see :mod:`bento.core.kinds`)."""
        return kinds.get(self.output_kind)


def _output_kind(func: Callable[..., Any], annotation: Any) -> tuple[IOKind, Any, str | None]:
    base, meta = strip_annotated(annotation)
    content_type = next((m.content_type for m in meta if isinstance(m, ContentType)), None)
    is_gen = inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func)
    kind = kinds.detect(base, is_gen)
    return kind, kind.output_type(annotation, base), content_type or kind.default_content_type


def _output_adapter(annotation: Any) -> TypeAdapter[Any]:
    try:
        return TypeAdapter(normalize(annotation), config=ConfigDict(arbitrary_types_allowed=True))
    except PydanticUserError:  # models, dataclasses and TypedDicts carry their own config
        return TypeAdapter(normalize(annotation))


def inspect_api(func: Callable[..., Any], model_name: str) -> Signature:
    """Read ``func``'s signature (the first parameter is ``self``) into a :class:`Signature`."""
    sig = inspect.signature(func)
    hints = typing.get_type_hints(func, include_extras=True)
    params: list[Param] = []
    context_param = None
    fields: dict[str, Any] = {}
    for index, (name, p) in enumerate(sig.parameters.items()):
        if index == 0 and name in ("self", "cls"):
            continue
        annotation = hints.get(name, p.annotation)
        if is_context_param(name, annotation):
            context_param = name
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"API {func.__qualname__}: *args/**kwargs parameters are not supported")
        if annotation is p.empty:
            annotation = Any
        default = ... if p.default is p.empty else p.default
        params.append(Param(name, annotation, default, _is_file_type(annotation)))
        fields[name] = (normalize(annotation), default)
    positional_only = [p for p in sig.parameters.values() if p.kind == p.POSITIONAL_ONLY
                       and p.name not in ("self", "cls")]
    root_input = len(params) == 1 and len(positional_only) == 1 and positional_only[0].name == params[0].name
    model = create_model(  # type: ignore[call-overload]
        model_name,
        # Unknown fields are dropped, as BentoML's input models drop them (a newer client, an extra kwarg);
        # inf/nan only where a field says so (``Field(allow_inf_nan=True)``): JSON has no such numbers
        __config__=ConfigDict(extra="ignore", arbitrary_types_allowed=True, allow_inf_nan=False),
        **fields,
    )
    ret = hints.get("return", sig.return_annotation)
    if ret is inspect.Signature.empty:
        ret = Any
    kind, out_ann, content_type = _output_kind(func, ret)
    adapter = _output_adapter(out_ann) if kind.typed else TypeAdapter(Any)
    return Signature(
        params=tuple(params),
        context_param=context_param,
        input_model=model,
        input_kind="multipart" if any(p.is_file for p in params) else "json",
        output_annotation=ret,
        output_kind=kind.name,
        output_content_type=content_type,
        output_adapter=adapter,
        root_input=root_input,
    )
