"""The durable queue behind ``@bento.task``: one SQLite file shared by every worker of a service.

A submitted task is a row holding the request (headers that matter and the body) until a worker claims
it; the result is the HTTP response the API gave, stored in the same row. SQLite's write lock makes a
claim atomic across processes (``BEGIN IMMEDIATE`` then one ``UPDATE``), so two workers never run the
same task. A worker that runs tasks refreshes their ``heartbeat``; a row ``running`` whose heartbeat is
older than :data:`STALE_AFTER` belongs to a worker that died (killed, crashed, or a whole ``bento serve``
that stopped): it goes back to the queue, and after :data:`MAX_ATTEMPTS` claims it is marked failed —
a task is never silently dropped. Finished rows are deleted ``result_ttl`` seconds after they finished.

Internal states are ``pending``, ``running``, ``success``, ``failure`` and ``cancelled``; the wire status
(BentoML's ``ResultStatus``) reports both ``pending`` and ``running`` as ``in_progress``.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _serialized(method: F) -> F:
    """One thread at a time on the connection: its transactions must not interleave."""
    @functools.wraps(method)
    def run(self: TaskDB, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]

#: seconds without a heartbeat before a running task is taken back (``$BENTO_TASK_STALE_AFTER``)
STALE_AFTER = float(os.environ.get("BENTO_TASK_STALE_AFTER", 10.0))
MAX_ATTEMPTS = 3
FINISHED = ("success", "failure", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    api TEXT NOT NULL,
    state TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    request_body BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    heartbeat REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    executed_at REAL,
    finished_at REAL,
    response_status INTEGER,
    response_headers TEXT,
    response_body BLOB
);
CREATE INDEX IF NOT EXISTS tasks_queue ON tasks (state, created_at);
"""


@dataclass(frozen=True)
class TaskRow:
    id: str
    api: str
    state: str
    created_at: float
    executed_at: float | None
    finished_at: float | None = None
    request_headers: list[tuple[str, str]] | None = None
    request_body: bytes = b""
    response_status: int | None = None
    response_headers: list[tuple[str, str]] | None = None
    response_body: bytes | None = None

    @property
    def wire_status(self) -> str:
        return "in_progress" if self.state in ("pending", "running") else self.state

    def status_json(self) -> dict[str, Any]:
        return {"task_id": self.id, "status": self.wire_status, "created_at": _iso(self.created_at),
                "executed_at": _iso(self.executed_at)}


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}Z"


def default_path(service_name: str) -> Path:
    """``$BENTO_TASK_DB`` if set, else ``$BENTO_HOME/tasks/<service>.sqlite3`` (it outlives a serve)."""
    env = os.environ.get("BENTO_TASK_DB")
    if env:
        return Path(env)
    from bento.store.paths import default_home

    return default_home() / "tasks" / f"{service_name}.sqlite3"


class TaskDB:
    """One connection to the queue file; every method is a short transaction (call from a thread)."""

    def __init__(self, path: Path | str, *, result_ttl: float = 24 * 3600) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.result_ttl = result_ttl
        self.owner = uuid.uuid4().hex  # this process's claims
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        # Every worker opens the file at start-up at the same moment. Switching to WAL and creating the
        # schema can answer "database is locked" without waiting on the busy handler: retry for a while.
        deadline = time.monotonic() + 30
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                # FULL: a task acknowledged to its client survives power loss, not only a crash.
                self._conn.execute("PRAGMA synchronous=FULL")
                self._conn.executescript(_SCHEMA)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @_serialized
    def close(self) -> None:
        self._conn.close()

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        cur = self._conn.execute(sql, args)
        return cur.rowcount

    @_serialized
    def submit(self, api: str, headers: list[tuple[str, str]], body: bytes) -> TaskRow:
        now = time.time()
        task_id = uuid.uuid4().hex
        self._write("INSERT INTO tasks (id, api, state, request_headers, request_body, created_at) "
                    "VALUES (?, ?, 'pending', ?, ?, ?)", (task_id, api, json.dumps(headers), body, now))
        return TaskRow(task_id, api, "pending", now, None)

    @_serialized
    def get(self, task_id: str, api: str, *, with_result: bool = False) -> TaskRow | None:
        columns = "id, api, state, created_at, executed_at, finished_at"
        if with_result:
            columns += ", request_headers, request_body, response_status, response_headers, response_body"
        rows = self._conn.execute(f"SELECT {columns} FROM tasks WHERE id = ? AND api = ?",
                                  (task_id, api)).fetchall()
        if not rows:
            return None
        row = rows[0]
        task_id, api_name, state, created, executed, finished = row[:6]
        if not with_result:
            return TaskRow(task_id, api_name, state, created, executed, finished)
        return TaskRow(task_id, api_name, state, created, executed, finished,
                       request_headers=[(k, v) for k, v in json.loads(row[6])], request_body=row[7],
                       response_status=row[8],
                       response_headers=[(k, v) for k, v in json.loads(row[9])] if row[9] else None,
                       response_body=row[10])

    @_serialized
    def claim(self, apis: list[str]) -> TaskRow | None:
        """Take the oldest pending task of one of ``apis`` for this process, or None."""
        marks = ",".join("?" * len(apis))
        now = time.time()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            rows = self._conn.execute(
                f"SELECT id FROM tasks WHERE state = 'pending' AND api IN ({marks}) "
                f"ORDER BY created_at LIMIT 1", apis).fetchall()
            if not rows:
                self._conn.execute("COMMIT")
                return None
            task_id = rows[0][0]
            self._conn.execute(
                "UPDATE tasks SET state = 'running', owner = ?, heartbeat = ?, attempts = attempts + 1, "
                "executed_at = ? WHERE id = ?", (self.owner, now, now, task_id))
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        claimed = self.get(task_id, self._api_of(task_id), with_result=True)
        assert claimed is not None
        return claimed

    def _api_of(self, task_id: str) -> str:
        return str(self._conn.execute("SELECT api FROM tasks WHERE id = ?", (task_id,)).fetchall()[0][0])

    @_serialized
    def heartbeat(self, task_ids: list[str]) -> set[str]:
        """Refresh this process's running tasks; returns those whose cancellation was asked for."""
        if not task_ids:
            return set()
        marks = ",".join("?" * len(task_ids))
        self._write(f"UPDATE tasks SET heartbeat = ? WHERE owner = ? AND state = 'running' AND id IN ({marks})",
                    (time.time(), self.owner, *task_ids))
        rows = self._conn.execute(f"SELECT id FROM tasks WHERE cancel_requested = 1 AND id IN ({marks})",
                                  task_ids).fetchall()
        return {r[0] for r in rows}

    @_serialized
    def finish(self, task_id: str, state: str, status: int, headers: list[tuple[str, str]], body: bytes) -> bool:
        """Store the outcome; False if the task is no longer this process's (taken back, cancelled)."""
        return self._write(
            "UPDATE tasks SET state = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE ? END, "
            "finished_at = ?, response_status = ?, response_headers = ?, response_body = ?, owner = NULL "
            "WHERE id = ? AND owner = ? AND state = 'running'",
            (state, time.time(), status, json.dumps(headers), body, task_id, self.owner)) == 1

    @_serialized
    def release(self, task_id: str) -> None:
        """Put a claimed task back in the queue (the service could not take it now)."""
        self._write("UPDATE tasks SET state = 'pending', owner = NULL, attempts = attempts - 1 "
                    "WHERE id = ? AND owner = ? AND state = 'running'", (task_id, self.owner))

    @_serialized
    def cancel(self, task_id: str, api: str) -> TaskRow | None:
        """Cancel a pending task at once; mark a running one (its worker stops it). None if unknown."""
        now = time.time()
        self._write("UPDATE tasks SET state = 'cancelled', finished_at = ? WHERE id = ? AND api = ? "
                    "AND state = 'pending'", (now, task_id, api))
        self._write("UPDATE tasks SET cancel_requested = 1 WHERE id = ? AND api = ? AND state = 'running'",
                    (task_id, api))
        return self.get(task_id, api)

    @_serialized
    def recover(self) -> int:
        """Take back running tasks whose worker stopped beating; fail those claimed too often."""
        stale = time.time() - STALE_AFTER
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            failed = self._conn.execute(
                "UPDATE tasks SET state = 'failure', finished_at = ?, owner = NULL, response_status = 500, "
                "response_headers = ?, response_body = ? WHERE state = 'running' AND heartbeat < ? "
                "AND attempts >= ?",
                (time.time(), json.dumps([["content-type", "application/json"]]),
                 json.dumps({"error": "WorkerDied", "message": f"the worker running this task died "
                             f"{MAX_ATTEMPTS} times; not retried again"}).encode(), stale, MAX_ATTEMPTS)).rowcount
            requeued = self._conn.execute(
                "UPDATE tasks SET state = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'pending' END, "
                "owner = NULL WHERE state = 'running' AND heartbeat < ?", (stale,)).rowcount
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return int(failed + requeued)

    @_serialized
    def expire(self) -> int:
        """Delete results older than ``result_ttl``."""
        return self._write("DELETE FROM tasks WHERE state IN ('success', 'failure', 'cancelled') "
                           "AND finished_at < ?", (time.time() - self.result_ttl,))
