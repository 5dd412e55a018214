"""The ``dataframe`` kind: ``pandas.DataFrame`` parameters and results.

JSON in either orientation BentoML knows: ``records`` (a list of row objects, the default) or ``columns``
(an object of column lists); a list of row lists takes its column names from ``DataframeSchema``. The
whole body of an API whose single parameter is a DataFrame may also be ``text/csv`` or, where pyarrow is
installed, parquet. Results are JSON records (``DataframeSchema(orient="columns")`` on the return
annotation: columns), or CSV when the annotation's ``ContentType`` says ``text/csv``. Requests of a
batchable API are merged row-wise when their columns agree. pandas is imported only when a service uses it.
"""

from __future__ import annotations

import io
import json
from typing import Any, Hashable, Sequence

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

from bento.core.errors import InvalidConfig
from bento.core.kinds.base import JSON_TYPE, IOKind, SchemaOf, ToJSON
from bento.core.kinds.rows import Rows

ORIENTS = ("records", "columns")
CSV = "text/csv"
PARQUET = ("application/vnd.apache.parquet", "application/x-parquet")


def is_frame_type(tp: Any) -> bool:
    return isinstance(tp, type) and any(
        c.__name__ == "DataFrame" and c.__module__.split(".")[0] == "pandas" for c in tp.__mro__)


def is_frame(value: Any) -> bool:
    return is_frame_type(type(value))


def to_frame(value: Any, columns: Sequence[str] | None = None) -> Any:
    """A DataFrame from records, columns or rows (JSON values), checked against ``columns`` when given:
    a missing column is a ``ValueError`` naming it; extra ones are dropped, as BentoML drops them."""
    import pandas as pd

    if is_frame(value):
        frame = value
    elif isinstance(value, list) and all(isinstance(row, dict) for row in value):
        frame = pd.DataFrame.from_records(value) if value else pd.DataFrame(columns=list(columns or []))
    elif isinstance(value, list) and all(isinstance(row, list) for row in value):
        try:
            frame = pd.DataFrame(value, columns=list(columns) if columns else None)
        except ValueError as exc:
            raise ValueError(f"rows do not fit the columns: {exc}") from None
    elif isinstance(value, dict) and all(isinstance(col, list) for col in value.values()):
        try:
            frame = pd.DataFrame(value)
        except ValueError as exc:  # columns of different lengths
            raise ValueError(f"not a table: {exc}") from None
    else:
        raise ValueError("expected a table: a list of row objects (records) or an object of column lists")
    if columns:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError("missing column" + "s" * (len(missing) > 1) + " " + ", ".join(f"`{c}`" for c in missing))
        frame = frame[list(columns)]
    return frame


def to_jsonable(frame: Any, orient: str) -> Any:
    """Records (a list of row objects) or columns (an object of column lists), with NaN as null."""
    split = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
    names = [str(c) for c in split["columns"]]
    if orient == "columns":
        return {name: [row[i] for row in split["data"]] for i, name in enumerate(names)}
    return [dict(zip(names, row)) for row in split["data"]]


def read_table(media: str, body: bytes) -> Any:
    """A DataFrame from a CSV or parquet body; ``ValueError`` when it is not one."""
    import pandas as pd

    try:
        if media == CSV:
            return pd.read_csv(io.BytesIO(body))
        return pd.read_parquet(io.BytesIO(body))
    except ImportError:
        raise ValueError("this server cannot read parquet (install pyarrow); send JSON or text/csv") from None
    except Exception as exc:  # pandas' parsers raise many types on malformed input
        raise ValueError(f"unreadable {media} body: {exc}") from None


class FrameValue:
    """pydantic hooks for a DataFrame: JSON tables in, records or columns out (JSON mode)."""

    def __init__(self, orient: str = "records", columns: Sequence[str] | None = None) -> None:
        if orient not in ORIENTS:
            raise InvalidConfig(f"DataframeSchema orient {orient!r} is not supported; use 'records' or 'columns'")
        self.orient = orient
        self.columns = tuple(columns) if columns else None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        def dump(value: Any) -> Any:
            return to_jsonable(value, self.orient) if is_frame(value) else value

        return core_schema.no_info_plain_validator_function(
            lambda value: to_frame(value, self.columns),
            serialization=core_schema.plain_serializer_function_ser_schema(dump, when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        if self.orient == "columns":
            props = {c: {"type": "array"} for c in self.columns or ()}
            return {"type": "object", "additionalProperties": {"type": "array"},
                    **({"properties": props, "required": list(props)} if props else {})}
        row: dict[str, Any] = {"type": "object"}
        if self.columns:
            row.update({"properties": {c: {} for c in self.columns}, "required": list(self.columns)})
        return {"type": "array", "items": row, "description": "a table as a list of row objects"}


class FrameRows(Rows):
    """DataFrames, row-wise, in requests and results; frames merge when their columns agree."""

    def owns(self, value: Any) -> bool:
        return is_frame(value)

    def key(self, value: Any, dim: int) -> Hashable:
        return ("dataframe", tuple(str(c) for c in value.columns))

    def take(self, value: Any, start: int, stop: int, dim: int) -> Any:
        return value.iloc[start:stop].reset_index(drop=True)

    def concat(self, parts: list[Any], dim: int) -> Any:
        import pandas as pd

        return pd.concat(parts, ignore_index=True)


class FrameKind(IOKind):
    name = "dataframe"
    typed = True  # the output adapter (FrameValue / DataframeSchema) dumps the orientation
    default_content_type = JSON_TYPE
    rows = (FrameRows(),)
    body_media = (CSV, *PARQUET)

    def matches(self, base: Any, is_generator: bool) -> bool:
        return is_frame_type(base)

    def param_hook(self, base: Any) -> Any:
        return FrameValue() if is_frame_type(base) else None

    def read_body(self, media: str, body: bytes) -> Any:
        return read_table(media, body)

    def encode(self, result: Any, content_type: bytes | None, to_json: ToJSON) -> tuple[bytes, bytes]:
        media = (content_type or b"").split(b";")[0].strip().decode()
        if is_frame(result) and media == CSV:
            return b"text/csv; charset=utf-8", result.to_csv(index=False).encode()
        if is_frame(result) and media in PARQUET:
            return media.encode(), result.to_parquet(index=False)
        return JSON_TYPE.encode(), to_json(result)

    def describe(self, schema: SchemaOf) -> dict[str, Any]:
        return schema()

    def response_content(self, content_type: str | None, schema: SchemaOf) -> dict[str, Any]:
        media = content_type or JSON_TYPE
        if media.split(";")[0] == CSV:
            return {CSV: {"schema": {"type": "string"}}}
        if media in PARQUET:
            return {media: {"schema": {"type": "string", "format": "binary"}}}
        return {JSON_TYPE: {"schema": self.describe(schema)}}

    def decode(self, content_type: str, disposition: str, body: bytes) -> Any:
        """A DataFrame where pandas is installed on the client's side, else the JSON value (or CSV text)."""
        try:
            import pandas  # noqa: F401
        except ImportError:
            return super().decode(content_type, disposition, body)
        media = content_type.split(";")[0].strip()
        if media == CSV or media in PARQUET:
            return read_table(media, body)
        value = super().decode(content_type, disposition, body)
        try:
            return to_frame(value)
        except ValueError:
            return value
