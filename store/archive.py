"""Portable archives (``.bentomodel`` / ``.bento``): a tar, zstd-compressed by default (gzip readable).

Layout: ``<kind>/<kind>.yaml`` then the item's files, sorted; a bento archive also holds the models it
references under ``models/<name>/<version>/``. Entries carry uid/gid 0, empty owner names, fixed modes
and ``SOURCE_DATE_EPOCH`` (or 0) as mtime, so the same item always exports to the same bytes.

Reading never trusts a member: absolute paths, ``..``, links and devices are refused here, and the
decompressed stream can be capped (:class:`Budget`); ``bento.store.unpack`` checks each member against its
manifest while it extracts it.
"""

from __future__ import annotations

import gzip
import os
import queue
import tarfile
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from bento.core.errors import InvalidArgument, UnsafePath
from bento.store.item import Item
from bento.store.manifest import CHUNK, BackgroundHasher, Progress
from bento.store.paths import check_relpath

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"
COMPRESSIONS = ("zstd", "gzip", "none")
DEFAULT_LEVEL = {"zstd": 3, "gzip": 6, "none": 0}


def archive_mtime() -> int:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return 0
    try:
        return int(epoch)
    except ValueError:
        raise InvalidArgument(f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds") from None


class _HashingReader:
    """Reads a file for tarfile while hashing it (on a helper thread) and reporting progress."""

    def __init__(self, f: IO[bytes], pool: ThreadPoolExecutor, progress: Progress | None) -> None:
        self.f = f
        self.h = BackgroundHasher(pool)
        self.progress = progress

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.h.update(data)
        if self.progress is not None and data:
            self.progress(len(data))
        return data


def _entry(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def write(out: IO[bytes], items: Iterable[tuple[str, Item]], *, compression: str = "zstd",
          level: int | None = None, progress: Progress | None = None) -> None:
    """Write ``(prefix, item)`` pairs as one deterministic archive, checking every file's sha256 on the way."""
    from bento.core.errors import IntegrityError

    if compression not in COMPRESSIONS:
        raise InvalidArgument(f"compression {compression!r} is not one of {', '.join(COMPRESSIONS)}")
    level = DEFAULT_LEVEL[compression] if level is None else level
    mtime = archive_mtime()
    sink: Any
    if compression == "zstd":
        import zstandard

        # threads=-1: one worker per core; the output is identical for any worker count >= 1.
        sink = zstandard.ZstdCompressor(level=level, threads=-1).stream_writer(out, closefd=False)
    elif compression == "gzip":
        sink = gzip.GzipFile(fileobj=out, mode="wb", compresslevel=level, mtime=0, filename="")
    else:
        sink = out
    # mode "w" (not the "w|" stream mode, whose buffer copies grow quadratically with the write size)
    with ThreadPoolExecutor(max_workers=1) as pool, \
            tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.copybufsize = CHUNK  # type: ignore[attr-defined]
        for prefix, item in items:
            manifest = item.manifest_path.read_bytes()
            tar.addfile(_entry(f"{prefix}/{item.manifest_name}", len(manifest), mtime), _BytesReader(manifest))
            for f in sorted(item.files, key=lambda f: f["path"]):
                path = item.path_of(f["path"])
                with open(path, "rb") as fh:
                    size = os.fstat(fh.fileno()).st_size
                    if size != f["size"]:
                        raise IntegrityError(f"{item.kind} {item.tag}: {f['path']} has {size} bytes, manifest says {f['size']}")
                    reader = _HashingReader(fh, pool, progress)
                    tar.addfile(_entry(f"{prefix}/{f['path']}", size, mtime), reader)
                if reader.h.hexdigest() != f["sha256"]:
                    raise IntegrityError(f"{item.kind} {item.tag}: {f['path']} was altered (sha256 differs from "
                                         "its manifest); not exported")
    if sink is not out:
        sink.close()


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.data) if n < 0 else self.pos + n
        chunk = bytes(self.data[self.pos:end])
        self.pos += len(chunk)
        return chunk


class _Prefetch:
    """Decompresses on a helper thread while the caller hashes and writes (both sides release the GIL),
    so an import uses two cores like ``zstd -d | tar -x``. At most ``depth`` chunks are buffered."""

    def __init__(self, raw: IO[bytes], depth: int = 8) -> None:
        self._raw = raw
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._thread = threading.Thread(target=self._run, name="bento-archive-read", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        item: bytes | BaseException
        while not self._stop.is_set():
            try:
                item = self._raw.read(CHUNK)
            except BaseException as exc:  # handed to the reader, which raises it
                item = exc
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if not isinstance(item, bytes) or not item:
                return

    def read(self, n: int = -1) -> bytes:
        parts = []
        want = n if n >= 0 else 1 << 62
        while want > 0 and not self._eof:
            if self._pos >= len(self._buf):
                item = self._queue.get()
                if isinstance(item, BaseException):
                    self._eof = True
                    raise item
                if not item:
                    self._eof = True
                    break
                self._buf, self._pos = item, 0
            if self._pos == 0 and want >= len(self._buf):
                piece = self._buf  # whole chunk: no copy
            else:
                piece = self._buf[self._pos:self._pos + want]
            self._pos += len(piece)
            want -= len(piece)
            parts.append(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self._thread.join()
        self._raw.close()


def _decompressed(src: IO[bytes]) -> IO[bytes]:
    head = src.read(4)
    src.seek(0)
    if head.startswith(ZSTD_MAGIC):
        import zstandard

        raw = zstandard.ZstdDecompressor().stream_reader(src, read_size=CHUNK, closefd=False)
        return _Prefetch(raw)  # type: ignore[return-value]
    if head.startswith(GZIP_MAGIC):
        return _Prefetch(gzip.GzipFile(fileobj=src, mode="rb"))  # type: ignore[return-value,arg-type]
    return src


class _MemberReader:
    """A member's data read straight from the tar stream (skips tarfile's buffered file-object layers).

    Only valid until the next member is requested; tarfile skips any unread remainder and the padding.
    """

    def __init__(self, tar: tarfile.TarFile, size: int) -> None:
        self._stream = tar.fileobj
        self._left = size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        if n <= 0:
            return b""
        data: bytes = self._stream.read(n)  # type: ignore[union-attr]
        if len(data) < n:
            raise EOFError("unexpected end of data in a tar member")
        self._left -= len(data)
        return data

    def __enter__(self) -> _MemberReader:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _zstd_error() -> type[Exception]:
    import zstandard

    return zstandard.ZstdError  # type: ignore[no-any-return]


class Budget:
    """Caps the decompressed bytes read from an archive; the reader raises it as manifests declare sizes.

    A few kilobytes of zstd can expand to terabytes; with this cap, tar headers, PAX records and member
    data together can never make an import read (or buffer) more than what was declared plus slack.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._stream: IO[bytes] | None = None

    def reading(self, stream: IO[bytes]) -> Budget:
        self._stream = stream
        return self

    def read(self, n: int = -1) -> bytes:
        assert self._stream is not None
        data = self._stream.read(n)
        self.used += len(data)
        if self.used > self.limit:
            from bento.core.errors import IntegrityError

            raise IntegrityError(f"the archive expands to more than its manifests declare (over {self.limit} bytes "
                                 "so far); refused as a possible decompression bomb, nothing was imported")
        return data


def members(src: IO[bytes], budget: Budget | None = None) -> Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    """Yield each member with a reader for its data; refuse links, devices and unsafe names.

    With a ``budget``, the decompressed stream is read through it; the caller may raise its limit as it
    learns what the archive declares.
    """
    stream = _decompressed(src)
    source: Any = budget.reading(stream) if budget is not None else stream
    try:
        with tarfile.open(fileobj=source, mode="r|", bufsize=CHUNK) as tar:
            for m in tar:
                check_relpath(m.name, "archive member")
                if m.issym() or m.islnk():
                    raise UnsafePath(f"archive member {m.name!r} is a link (to {m.linkname!r}); "
                                     "archives may hold regular files only")
                if m.isdir():
                    yield m, None
                    continue
                if not m.isreg():
                    raise UnsafePath(f"archive member {m.name!r} is a device, fifo or other special file; refused")
                yield m, _MemberReader(tar, m.size)  # type: ignore[misc]
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error, _zstd_error()) as exc:
        from bento.core.errors import IntegrityError

        raise IntegrityError(f"not a readable bento archive ({exc}); expected a tar compressed with zstd or gzip") from None
    finally:
        if stream is not src:
            stream.close()
