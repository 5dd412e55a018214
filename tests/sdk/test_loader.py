from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest

from bento.errors import InvalidArgument, NotFound, ServiceLoadError
from bento.core.loader import import_service
from utils import free_port, run_cli

BENTOML_STYLE = '''
from __future__ import annotations
import bentoml
from bentoml.validators import Shape

@bentoml.service(resources={"cpu": "2"}, traffic={"timeout": 10})
class Summarization:
    @bentoml.api
    def summarize(self, text: str, ctx: bentoml.Context) -> str:
        return text[:10]
'''

TWO_SERVICES = '''
import bento

@bento.service
class Inner:
    @bento.api
    def f(self) -> str:
        return "inner"

@bento.service
class Outer:
    inner = bento.depends(Inner)

    @bento.api
    def g(self) -> str:
        return self.inner.f()
'''


def write(tmp_path: Path, source: str) -> str:
    name = f"svc_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    return name


def test_bentoml_service_file_loads_unchanged(tmp_path: Path) -> None:
    name = write(tmp_path, BENTOML_STYLE)
    svc = import_service(f"{name}.py:Summarization", tmp_path)
    assert svc.name == "Summarization" and svc.config.traffic.timeout == 10
    assert svc.apis["summarize"].signature.context_param == "ctx"


def test_module_and_file_targets_resolve_from_working_dir(tmp_path: Path) -> None:
    name = write(tmp_path, TWO_SERVICES)
    assert import_service(f"{name}:Outer", tmp_path).name == "Outer"
    assert import_service(f"{name}.py:Inner", tmp_path).name == "Inner"


def test_without_a_class_the_entry_service_is_the_one_nobody_depends_on(tmp_path: Path) -> None:
    name = write(tmp_path, TWO_SERVICES)
    assert import_service(name, tmp_path).name == "Outer"


def test_bad_targets_say_what_is_wrong(tmp_path: Path) -> None:
    name = write(tmp_path, TWO_SERVICES + "\nnot_a_service = 3\n")
    with pytest.raises(NotFound, match="does not exist"):
        import_service("missing.py:X", tmp_path)
    with pytest.raises(NotFound, match="no such module"):
        import_service("missing_module:X", tmp_path)
    with pytest.raises(NotFound, match="no attribute 'Nope'"):
        import_service(f"{name}:Nope", tmp_path)
    with pytest.raises(InvalidArgument, match="not a service"):
        import_service(f"{name}:not_a_service", tmp_path)


def test_errors_inside_the_service_file_name_the_failing_line(tmp_path: Path) -> None:
    name = write(tmp_path, "x = 1\nimport not_installed_dependency_xyz\n")
    for target in (f"{name}.py", name):
        with pytest.raises(ServiceLoadError) as info:
            import_service(target, tmp_path)
        message = str(info.value)
        assert "ModuleNotFoundError: No module named 'not_installed_dependency_xyz'" in message
        assert f"{name}.py:2: import not_installed_dependency_xyz" in message


def test_serve_reports_a_broken_service_file_in_one_line(tmp_path: Path) -> None:
    write(tmp_path, "raise RuntimeError('weights missing')\n")
    (tmp_path / "broken.py").write_text("import json\nraise RuntimeError('weights missing')\n")
    result = run_cli("serve", "broken.py:Svc", "--port", str(free_port()), cwd=tmp_path, timeout=60)
    assert result.returncode == ServiceLoadError.exit_code
    assert "RuntimeError: weights missing" in result.stderr
    assert "broken.py:2" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_mistyped_service_class_gets_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "svc_typo.py").write_text(TWO_SERVICES)
    with pytest.raises(NotFound, match=r"has no attribute 'Outter'; did you mean svc_typo.py:Outer\?"):
        import_service("svc_typo.py:Outter", tmp_path)
    with pytest.raises(NotFound, match=r"has no attribute 'Zzz'; its services: Inner, Outer"):
        import_service("svc_typo.py:Zzz", tmp_path)
    served = run_cli("serve", "svc_typo.py:Outter", "--port", str(free_port()), cwd=tmp_path, timeout=60)
    assert served.returncode != 0
    assert served.stderr.strip().splitlines() == [
        "error: svc_typo.py has no attribute 'Outter'; did you mean svc_typo.py:Outer?"]
