"""Our own package inside a bento: pinned to the running version.

When ``bento`` runs from a source checkout (an editable install, the only way to get it before a release),
the image cannot install it from an index, so a wheel of the checkout is built into the bento. The wheel is
reproducible (``SOURCE_DATE_EPOCH``, built from a clean copy of exactly the hashed files) and cached by the
hash of those files, so a warm build does not rebuild it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from bento.builder import cache
from bento.core.errors import BuildError

DIST = "bento"
# 1980-01-01, the earliest time a zip entry can carry.
SOURCE_DATE_EPOCH = "315532800"


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


def _distribution() -> metadata.Distribution:
    # Not metadata.distribution(DIST): a stray `bento.egg-info` in the working directory would shadow the
    # installed distribution. Prefer the one whose version is the running one.
    candidates = list(metadata.distributions(name=DIST))
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


def _source_files(root: Path) -> list[Path]:
    """pyproject.toml plus every file of the package directories it declares."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools_cfg = pyproject.get("tool", {}).get("setuptools", {})
    dirs = sorted(set(setuptools_cfg.get("package-dir", {}).values())) or [DIST]
    files = [root / "pyproject.toml"]
    for extra in ("README.md", "LICENSE", "setup.py", "setup.cfg", "MANIFEST.in"):
        if (root / extra).is_file():
            files.append(root / extra)
    for d in dirs:
        for dirpath, dirnames, filenames in os.walk(root / d):
            dirnames[:] = sorted(n for n in dirnames if n != "__pycache__" and not n.endswith(".egg-info"))
            files.extend(Path(dirpath) / f for f in sorted(filenames) if not f.endswith((".pyc", ".pyo")))
    return files


def build_own_wheel() -> OwnWheel | None:
    """A wheel of the running checkout, or None when ``bento`` is a regular (index) install."""
    root = source_checkout()
    if root is None:
        return None
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
