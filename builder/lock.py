"""The locked Python environment of a bento: ``uv pip compile`` for the target platform, with hashes.

The input is the user's requirements plus our own runtime dependencies (so conflicts surface at build
time, not in the image). Our package itself is installed from the wheel built into the bento when running
from a checkout, or pinned to the running version otherwise. Locks are cached by their inputs, so a warm
rebuild does not resolve again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bento.builder import cache
from bento.core.bentofile import PythonOptions
from bento.core.errors import BuildError, InvalidConfig
from bento.core.project import inside_project

# Target of every lock: Linux x86_64 with glibc >= 2.28 (Debian bookworm, Ubuntu 22.04, UBI 8).
UV_PLATFORM = "x86_64-manylinux_2_28"
PIP_PLATFORM = "manylinux_2_28_x86_64"
# pip matches only the platform tags it is given: every manylinux tag up to 2.28, newest first.
PIP_PLATFORMS = (*(f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)),
                 "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")
LOCK_FORMAT = 1  # bump when the lock text we produce changes shape


@dataclass(frozen=True)
class Lock:
    text: str  # the contents of env/python/requirements.lock.txt
    hashed: bool  # every requirement carries --hash (pip then runs in hash-checking mode)


def requirement_lines(options: PythonOptions, project_dir: Path, extra: list[str]) -> list[str]:
    """The requirements to resolve: ``packages``, the lines of ``requirements_txt``, then ``extra``."""
    lines = [p.strip() for p in options.packages if p.strip()]
    if options.requirements_txt:
        path = inside_project(project_dir, options.requirements_txt, "python.requirements_txt")
        if not path.is_file():
            raise InvalidConfig(f"`python.requirements_txt` points to {path}, which does not exist")
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith(("-r", "-c", "--requirement", "--constraint", "-e", "--editable")):
                raise InvalidConfig(
                    f"{options.requirements_txt}: `{line}` is not supported in a bento; "
                    "list the requirements directly (or in `python.packages`)"
                )
            lines.append(line)
    lines.extend(extra)
    return lines


def _index_lines(options: PythonOptions) -> list[str]:
    out = []
    if options.index_url:
        out.append(f"--index-url {options.index_url}")
    out.extend(f"--extra-index-url {u}" for u in options.extra_index_url)
    out.extend(f"--find-links {u}" for u in options.find_links)
    return out


def lock_requirements(lines: list[str], options: PythonOptions, python_version: str) -> Lock:
    """Resolve ``lines`` for the target, or keep them as given when ``lock_packages`` is false."""
    header = _index_lines(options)
    if not options.lock_packages:
        body = "\n".join(lines)
        return Lock("\n".join([*header, body]).strip() + "\n", hashed=False)
    key = cache.key_of(LOCK_FORMAT, lines, python_version, UV_PLATFORM, header)
    cached = cache.read("locks", key)
    if cached is not None:
        return Lock(cached.decode(), hashed=True)
    with tempfile.TemporaryDirectory(prefix="bento-lock-") as tmp:
        (Path(tmp) / "requirements.in").write_text("\n".join(lines) + "\n", encoding="utf-8")
        cmd = [
            sys.executable, "-m", "uv", "pip", "compile", "requirements.in", "--quiet", "--no-header",
            "--generate-hashes", "--python-version", python_version, "--python-platform", UV_PLATFORM,
        ]
        if options.index_url:
            cmd += ["--index-url", options.index_url]
        for url in options.extra_index_url:
            cmd += ["--extra-index-url", url]
        for url in options.find_links:
            cmd += ["--find-links", url]
        # Run from the temp dir so annotations read "via -r requirements.in", never a machine path.
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip()
        raise BuildError(f"could not resolve the Python requirements for Python {python_version}:\n{message}")
    if "--hash=" not in proc.stdout and lines:
        raise BuildError(f"uv pip compile produced no lock for {lines}:\n{proc.stderr.strip()}")
    text = "\n".join([*header, proc.stdout.strip()]).strip() + "\n"
    cache.write("locks", key, text.encode())
    return Lock(text, hashed=True)
