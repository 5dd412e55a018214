"""Hermetic bentos: the locked wheels for the target platform, downloaded into the bento.

With ``python.vendor: true`` (or ``bento build --vendor``) the image installs with ``--no-index`` from
``env/python/wheels/`` and needs no network. A requirement without a wheel for the target fails the build
and names the package.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bento.builder.lock import PIP_PLATFORM, PIP_PLATFORMS
from bento.core.errors import BuildError

_NO_WHEEL = re.compile(r"(?:satisfies the requirement|distribution found for)\s+([A-Za-z0-9_.\-\[\]]+)")


def download_wheels(lock_text: str, python_version: str, *, pinned: bool = True) -> dict[str, bytes]:
    """Download one wheel per locked requirement (verified against the lock's hashes): name -> bytes.

    With ``pinned=False`` (``lock_packages: false``) the requirements are resolved by pip, dependencies
    included.
    """
    with tempfile.TemporaryDirectory(prefix="bento-vendor-") as tmp:
        lock = Path(tmp) / "requirements.lock.txt"
        lock.write_text(lock_text, encoding="utf-8")
        out = Path(tmp) / "wheels"
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--only-binary=:all:", *(f"--platform={p}" for p in PIP_PLATFORMS), "--python-version", python_version,
            "--implementation", "cp", "-r", str(lock), "-d", str(out),
        ]
        if pinned:
            cmd.append("--no-deps")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            found = _NO_WHEEL.search(proc.stderr)
            if found:
                package = found.group(1)
                raise BuildError(
                    f"no wheel of {package} for {PIP_PLATFORM} / Python {python_version}, so it cannot be "
                    f"vendored; pin a version that publishes one, or build without --vendor\n"
                    f"{proc.stderr.strip()}"
                )
            raise BuildError(f"could not download the locked wheels:\n{proc.stderr.strip()}")
        return {p.name: p.read_bytes() for p in sorted(out.glob("*.whl"))}
