"""Which project files go into a bento's ``src/``.

gitignore-style ``include`` / ``exclude`` patterns (pathspec) plus every ``.bentoignore`` in the tree, each
applying below its own directory. Version-control folders, virtualenvs (any directory holding a
``pyvenv.cfg``) and caches are always out. Excluded directories are pruned, never walked, so a project with
a 20,000-file ``.venv`` is selected as fast as one without.

Nothing outside the project is ever read: a selected symbolic link (or ``.bentoignore``) whose target
resolves outside the project root stops the build, and every path a build configuration names
(``description: file:...``, ``docker.setup_script``, ``python.requirements_txt``, ``python.wheels``) goes
through ``bento.core.project.inside_project``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from bento.core.errors import UnsafePath

IGNORE_FILE = ".bentoignore"
LARGE_FILE = 10 * 1024 * 1024
# Never part of a bento, whatever the patterns say.
ALWAYS_EXCLUDED_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".ipynb_checkpoints", ".idea", ".vscode",
})
ALWAYS_EXCLUDED_FILES = frozenset({".DS_Store"})
ALWAYS_EXCLUDED_SUFFIXES = (".pyc", ".pyo")


@dataclass
class Selection:
    """The selected files (relative POSIX path -> absolute path), sorted, and files worth a warning."""

    files: dict[str, Path] = field(default_factory=dict)
    large: list[tuple[str, int]] = field(default_factory=list)


def _link_inside(root: Path, rel: str, what: str) -> None:
    """Refuse a symbolic link in the project whose target resolves outside it."""
    base = root.resolve()
    target = (base / rel).resolve()
    if not target.is_relative_to(base):
        raise UnsafePath(f"{what} {rel}, a symbolic link to {target}, outside the project {root}; a build reads "
                         "only files inside the project: copy the file in, or add it to `exclude`")


def _spec(lines: list[str]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines([ln for ln in lines if ln.strip()])


def _is_virtualenv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def select_files(root: Path, include: list[str], exclude: list[str]) -> Selection:
    """Walk ``root`` and return the files a bento's ``src/`` holds."""
    include_spec = _spec(include or ["*"])
    exclude_spec = _spec(exclude)
    selection = Selection()
    # Each entry: (directory relative to root with trailing "/" or "", spec of its .bentoignore)
    ignores: list[tuple[str, pathspec.PathSpec]] = []

    def ignored(rel: str, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        if exclude_spec.match_file(probe):
            return True
        for base, spec in ignores:
            if probe.startswith(base) and spec.match_file(probe[len(base):]):
                return True
        return False

    def walk(directory: str, rel_dir: str) -> None:
        ignore_file = os.path.join(directory, IGNORE_FILE)
        pushed = False
        if os.path.isfile(ignore_file):
            if os.path.islink(ignore_file):
                _link_inside(root, rel_dir + IGNORE_FILE, "the ignore file")
            with open(ignore_file, encoding="utf-8") as fh:
                ignores.append((rel_dir, _spec(fh.read().splitlines())))
            pushed = True
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except PermissionError:
            entries = []
        for entry in entries:
            rel = rel_dir + entry.name
            if entry.is_dir(follow_symlinks=False):
                # Pruning: an excluded directory is never listed, let alone read.
                if entry.name in ALWAYS_EXCLUDED_DIRS or _is_virtualenv(entry.path) or ignored(rel, True):
                    continue
                walk(entry.path, rel + "/")
            elif entry.is_file():  # follows symlinks to files; symlinked directories are not entered
                if entry.name in ALWAYS_EXCLUDED_FILES or entry.name.endswith(ALWAYS_EXCLUDED_SUFFIXES):
                    continue
                if entry.name == IGNORE_FILE or not include_spec.match_file(rel) or ignored(rel, False):
                    continue
                if entry.is_symlink():
                    _link_inside(root, rel, "`include` selects")
                selection.files[rel] = Path(entry.path)
                size = entry.stat().st_size
                if size > LARGE_FILE:
                    selection.large.append((rel, size))
        if pushed:
            ignores.pop()

    walk(str(root), "")
    return selection
