"""The package version, in one place (``bento.__version__`` and the builder read it from here)."""

from __future__ import annotations

__version__ = "0.1.0"
