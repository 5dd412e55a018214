"""Our own package inside a bento: the exact runtime that built it, as a wheel.

A bento always carries the ``bento`` it was built with, whatever the install:

- from a source checkout (an editable install) a wheel of the checkout is built. It is reproducible
  (``SOURCE_DATE_EPOCH``, built from a clean copy of exactly the hashed files) and cached by the hash of
  those files, so a warm build does not rebuild it;
- from a regular install (a wheel from a file or an index, an sdist) the wheel is put back together from
  the installed files that the distribution's ``RECORD`` lists, each checked against its recorded hash.

Our package is resolved from an index by name only when the bentofile asks for it
(``python.bento_from_index: true``, see docs/building.md).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from bento.builder import cache
from bento.core.errors import BuildError

# The distribution name (pyproject's `project.name`); the import package and the command are `bento`.
DIST = "bento-serve"
PACKAGE = "bento"
# 1980-01-01, the earliest time a zip entry can carry.
SOURCE_DATE_EPOCH = "315532800"
# What a wheel's .dist-info holds; installers add their own notes (INSTALLER, REQUESTED, direct_url.json,
# uv_cache.json...), which are left out. RECORD is written anew.
_WHEEL_METADATA = {"METADATA", "WHEEL", "entry_points.txt", "top_level.txt"}
_LICENSE_PREFIXES = ("licenses/", "LICENSE", "COPYING", "NOTICE", "AUTHORS")


@dataclass(frozen=True)
class OwnWheel:
    filename: str
    data: bytes


def running_version() -> str:
    from bento.core.version import __version__

    return __version__


def dependencies() -> list[str]:
    """Our runtime requirements (no extras), as the installed metadata states them."""
    found = []
    for req in _distribution().requires or []:
        if "extra ==" in req.replace('"', " ").replace("'", " ") or "extra==" in req:
            continue
        found.append(req)
    return sorted(found)


def _running_file() -> Path:
    import bento.core.version

    return Path(bento.core.version.__file__).resolve()


def _is_running_install(dist: metadata.Distribution) -> bool:
    """``dist`` installed the very files that run (a regular install, not a stray .egg-info)."""
    try:
        located = Path(str(dist.locate_file(f"{PACKAGE}/core/version.py"))).resolve()
    except (OSError, NotImplementedError):
        return False
    return located == _running_file()


def _distribution() -> metadata.Distribution:
    # Not metadata.distribution(DIST): a stray `bento_serve.egg-info` in the working directory would
    # shadow the installed distribution. Prefer the one whose files run, then an editable install of
    # the running version.
    candidates = list(metadata.distributions(name=DIST))
    for dist in candidates:
        if _is_running_install(dist):
            return dist
    for dist in candidates:
        if dist.version == running_version() and dist.read_text("direct_url.json"):
            return dist
    if not candidates:
        raise BuildError(f"the {DIST} distribution is not installed; install it with pip")
    return candidates[0]


def source_checkout() -> Path | None:
    """The project directory when ``bento`` runs from a source checkout (an editable install)."""
    import bento.core

    root = Path(bento.core.__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            name = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name")
        except tomllib.TOMLDecodeError:
            name = None
        if name == DIST:
            return root
    text = _distribution().read_text("direct_url.json")
    if not text:
        return None
    info = json.loads(text)
    if not info.get("dir_info", {}).get("editable"):
        return None
    url = urlparse(info.get("url", ""))
    if url.scheme != "file":
        return None
    root = Path(unquote(url.path))
    return root if (root / "pyproject.toml").is_file() else None


def build_own_wheel() -> OwnWheel:
    """A wheel of the running ``bento``: built from the checkout, or rebuilt from the installed files."""
    root = source_checkout()
    if root is not None:
        return _wheel_of_checkout(root)
    return wheel_from_installed(_distribution())


def _source_files(root: Path) -> list[Path]:
    """pyproject.toml plus every file of the package directories it declares."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools_cfg = pyproject.get("tool", {}).get("setuptools", {})
    dirs = sorted(set(setuptools_cfg.get("package-dir", {}).values())) or [PACKAGE]
    files = [root / "pyproject.toml"]
    for extra in ("README.md", "LICENSE", "setup.py", "setup.cfg", "MANIFEST.in"):
        if (root / extra).is_file():
            files.append(root / extra)
    for d in dirs:
        for dirpath, dirnames, filenames in os.walk(root / d):
            dirnames[:] = sorted(n for n in dirnames if n != "__pycache__" and not n.endswith(".egg-info"))
            files.extend(Path(dirpath) / f for f in sorted(filenames) if not f.endswith((".pyc", ".pyo")))
    return files


def _wheel_of_checkout(root: Path) -> OwnWheel:
    files = _source_files(root)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    key = digest.hexdigest()[:32]
    index = cache.read("own-wheels", key + ".name")
    if index is not None:
        data = cache.read("own-wheels", key)
        if data is not None:
            return OwnWheel(index.decode(), data)
    with tempfile.TemporaryDirectory(prefix="bento-wheel-") as tmp:
        # Build from a clean copy: a stale `build/` in the checkout must not leak old files into the wheel.
        src = Path(tmp) / "src"
        for path in files:
            target = src / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "uv", "build", "--wheel", "--quiet", "--out-dir", str(out), str(src)]
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise BuildError(f"could not build a wheel of bento from {root}:\n{proc.stderr.strip()}")
        wheels = sorted(out.glob("*.whl"))
        if len(wheels) != 1:
            raise BuildError(f"building a wheel of bento from {root} produced {len(wheels)} wheels")
        data = wheels[0].read_bytes()
        cache.write("own-wheels", key, data)
        cache.write("own-wheels", key + ".name", wheels[0].name.encode())
        return OwnWheel(wheels[0].name, data)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _wheel_tag(wheel_text: str) -> str:
    """``py3-none-any`` from the WHEEL file's ``Tag:`` lines (compressed when there are several)."""
    tags = [line.split(":", 1)[1].strip() for line in wheel_text.splitlines() if line.startswith("Tag:")]
    if not tags:
        raise BuildError(f"the installed {DIST} has a WHEEL file without `Tag:`; reinstall it")
    parts = [t.split("-") for t in tags]
    return "-".join(".".join(dict.fromkeys(p[i] for p in parts)) for i in range(3))


def wheel_from_installed(dist: metadata.Distribution) -> OwnWheel:
    """Put the wheel of an installed (non-editable) distribution back together from its RECORD.

    The installed package files and the ``.dist-info`` metadata are read back byte for byte and checked
    against the hashes RECORD holds; compiled ``__pycache__`` files, scripts outside site-packages and the
    installer's own notes are left out. Entries are sorted and dated 1980-01-01, so the same install
    always gives the same wheel (and the same bento version).
    """
    listed = dist.files
    if not listed:
        raise BuildError(f"the installed {DIST} {dist.version} has no RECORD of its files, so its wheel "
                         f"cannot be rebuilt; reinstall it with pip or uv")
    entries: dict[str, bytes] = {}
    info_dir = ""
    for item in listed:
        parts = item.parts
        if not parts or parts[0] in ("..", "/") or Path(str(item)).is_absolute():
            continue  # console scripts and the like: the installer writes them from entry_points.txt
        if "__pycache__" in parts or item.suffix in (".pyc", ".pyo"):
            continue
        top = parts[0]
        if top.endswith(".dist-info"):
            info_dir = top
            inner = "/".join(parts[1:])
            if inner not in _WHEEL_METADATA and not inner.startswith(_LICENSE_PREFIXES):
                continue
        elif top != PACKAGE and not (len(parts) == 1 and top.endswith(".pth")):
            continue  # the package, plus the startup hook at the top of site-packages (bento-bentoml.pth)
        path = Path(str(dist.locate_file(item)))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BuildError(f"{path} of the installed {DIST} cannot be read ({exc.strerror}); "
                             f"reinstall {DIST}") from None
        if item.hash is not None and item.hash.mode == "sha256":
            if _record_hash(data) != f"sha256={item.hash.value}":
                raise BuildError(
                    f"{path} was changed after {DIST} was installed (its hash differs from RECORD), so the "
                    f"bento cannot carry a known runtime; reinstall it: pip install --force-reinstall {DIST}"
                )
        entries[item.as_posix()] = data
    wheel_file = entries.get(f"{info_dir}/WHEEL")
    if not info_dir or wheel_file is None or not any(k.startswith(PACKAGE + "/") for k in entries):
        raise BuildError(f"the installed {DIST} {dist.version} lacks its package files or WHEEL metadata; "
                         f"reinstall it with pip or uv")
    name_version = info_dir[: -len(".dist-info")]
    filename = f"{name_version}-{_wheel_tag(wheel_file.decode())}.whl"
    record = f"{info_dir}/RECORD"
    ordered = sorted(k for k in entries if not k.startswith(info_dir + "/"))
    ordered += sorted(k for k in entries if k.startswith(info_dir + "/"))  # metadata last, as wheels do
    lines = [f"{k},{_record_hash(entries[k])},{len(entries[k])}" for k in ordered] + [f"{record},,"]
    entries[record] = ("\n".join(lines) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in [*ordered, record]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name])
    return OwnWheel(filename, buffer.getvalue())
