from __future__ import annotations

import subprocess
import sys

import bento


def test_public_surface_is_pinned() -> None:
    assert bento.__all__ == sorted([
        "AsyncHTTPClient", "BentoError", "Context", "Cookie", "Service", "SyncHTTPClient", "__version__", "api",
        "asgi_app", "bentos", "depends", "get_current_service", "images", "importing", "models", "on_deployment",
        "on_shutdown", "on_startup", "runner_service", "service", "task", "validators",
    ])
    for name in bento.__all__:
        assert getattr(bento, name) is not None


def test_cli_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from bento.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit: pass\n"
        "heavy = [m for m in ('uvicorn', 'starlette', 'pydantic', 'docker', 'jinja2', 'numpy') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY:\n" in out.stdout


def test_version_flag() -> None:
    out = subprocess.run([sys.executable, "-m", "bento", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert bento.__version__ in out.stdout
