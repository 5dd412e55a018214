"""Find and import the service a user names: ``file.py:Class``, ``module:Class``, ``module`` or a
directory whose bentofile names one. Service files written for BentoML (``import bentoml``) load
unchanged: when the real ``bentoml`` is not installed, the name is an alias of ``bento``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.machinery
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from bento.core.errors import BentoError, InvalidArgument, NotFound, ServiceLoadError
from bento.core.services import Service


def install_bentoml_alias() -> None:
    """Make ``import bentoml`` give ``bento``, unless the real BentoML is importable (see bento.core.alias)."""
    from bento.core import alias

    alias.install()


def _load_error(what: str, exc: Exception) -> ServiceLoadError:
    """One line that says what failed and where in the user's code (the innermost frame outside us)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename
              and not f.filename.startswith("<frozen")]
    user = [f for f in frames if Path(f.filename).resolve() != Path(__file__).resolve()]
    where = f" (at {user[-1].filename}:{user[-1].lineno}: {(user[-1].line or '').strip()})" if user else ""
    return ServiceLoadError(f"importing {what} failed: {type(exc).__name__}: {exc}{where}")


def _exec(spec: importlib.machinery.ModuleSpec, module: ModuleType, what: str) -> None:
    assert spec.loader is not None
    try:
        spec.loader.exec_module(module)
    except BentoError:
        raise  # already says what is wrong (a missing model, a bad @service config)
    except Exception as exc:
        raise _load_error(what, exc) from exc


def _import_file(path: Path) -> ModuleType:
    path = path.resolve()
    if not path.is_file():
        raise NotFound(f"service file {path} does not exist")
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    module_name = path.stem
    existing = sys.modules.get(module_name)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() == path:
        return existing
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        _exec(spec, module, f"service file {path}")
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _pick(module: ModuleType, attr: str | None, where: str) -> Service[Any]:
    if attr:
        obj: Any = module
        for part in attr.split("."):
            holder, obj = obj, getattr(obj, part, None)
            if obj is None:
                services = [k for k, v in vars(holder).items() if isinstance(v, Service)]
                close = difflib.get_close_matches(part, services, n=1, cutoff=0.6)
                hint = (f"; did you mean {where}:{close[0]}?" if close
                        else f"; its services: {', '.join(sorted(services))}" if services else "")
                raise NotFound(f"{where} has no attribute {attr!r}{hint}")
        if not isinstance(obj, Service):
            raise InvalidArgument(f"{where}:{attr} is not a service; decorate the class with @bento.service")
        return obj
    services = [v for v in vars(module).values() if isinstance(v, Service)]
    if not services:
        raise NotFound(f"{where} defines no @bento.service class")
    # The entry service is the one no other service in the module depends on.
    used = {id(d.on) for s in services for d in s.dependencies.values() if d.on is not None}
    roots = [s for s in services if id(s) not in used]
    if len(roots) != 1:
        names = ", ".join(s.inner.__name__ for s in roots)
        raise InvalidArgument(f"{where} defines several entry services ({names}); name one as {where}:Class")
    return roots[0]


def import_service(target: str, working_dir: str | Path | None = None) -> Service[Any]:
    """Import the service named by ``target`` (relative paths and modules resolve from ``working_dir``)."""
    install_bentoml_alias()
    base = Path(working_dir or ".").resolve()
    module_part, _, attr = target.partition(":")
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    if module_part.endswith(".py") or "/" in module_part:
        module = _import_file(base / module_part)
    else:
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            if exc.name == module_part or module_part.startswith(f"{exc.name}."):
                raise NotFound(f"cannot import {module_part!r} from {base}: no such module or file") from None
            raise _load_error(f"module {module_part!r}", exc) from exc
        except BentoError:
            raise
        except Exception as exc:
            raise _load_error(f"module {module_part!r}", exc) from exc
    return _pick(module, attr or None, module_part)
