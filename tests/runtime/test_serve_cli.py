"""`bento serve TARGET`: what a target can be, where settings come from, reload, development, errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from utils import free_port, run_cli, serve

ECHO = """
    import os
    import {sdk}

    @{sdk}.service
    class Echo:
        @{sdk}.api
        def echo(self, text: str) -> str:
            return "{prefix}" + text
"""


def write(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return path


def echo_source(prefix: str = "", sdk: str = "bento") -> str:
    return ECHO.format(prefix=prefix, sdk=sdk)


def call_echo(url: str, text: str = "hi") -> str:
    return httpx.post(url + "/echo", json={"text": text}).text


def test_serve_file_target_from_another_directory(tmp_path: Path) -> None:
    write(tmp_path / "app" / "svc.py", echo_source("file:"))
    with serve(["app/svc.py:Echo"], cwd=tmp_path) as server:
        assert call_echo(server.url) == "file:hi"


def test_serve_project_directory_with_bentofile(tmp_path: Path) -> None:
    write(tmp_path / "service.py", echo_source("project:"))
    write(tmp_path / "bentofile.yaml", 'service: "service:Echo"\ninclude: ["*.py"]\n')
    with serve([], cwd=tmp_path) as server:
        assert call_echo(server.url) == "project:hi"


def test_serve_pyproject_tool_bento(tmp_path: Path) -> None:
    write(tmp_path / "service.py", echo_source("pyproject:"))
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n\n[tool.bento]\nservice = "service:Echo"\n')
    with serve([], cwd=tmp_path) as server:
        assert call_echo(server.url) == "pyproject:hi"


def test_serve_project_with_only_bentofile_yml(tmp_path: Path) -> None:
    write(tmp_path / "service.py", echo_source("yml:"))
    write(tmp_path / "bentofile.yml", 'service: "service:Echo"\n')
    with serve([], cwd=tmp_path) as server:
        assert call_echo(server.url) == "yml:hi"


def test_serve_pyproject_bentoml_build_table(tmp_path: Path) -> None:
    write(tmp_path / "app" / "service.py", echo_source("bentoml-table:"))
    write(tmp_path / "app" / "pyproject.toml", '[project]\nname = "x"\n\n[tool.bentoml.build]\nservice = "service:Echo"\n')
    with serve(["app"], cwd=tmp_path) as server:
        assert call_echo(server.url) == "bentoml-table:hi"


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("bentofile.yaml", 'service: "service:Echo"\npython:\n  pakages: [numpy]\n',
         "unknown key `python.pakages` in bentofile.yaml; did you mean `python.packages`?"),
        ("bentofile.yml", 'service: "service:Echo"\ninclude: [a\n', "bentofile.yml is not valid YAML at line"),
        ("bentofile.yaml", "include: ['*.py']\n", "`service` in bentofile.yaml: Field required"),
        ("pyproject.toml", '[tool.bentoml.build]\nservice = 3\n', "`service` in pyproject.toml [tool.bentoml.build]"),
        ("bento.yaml", 'name: e\nversion: v1\nservice: "service:Echo"\nenvs: {PREFIX: x}\n', "`envs` in "),
    ],
)
def test_a_malformed_project_file_is_one_line_naming_file_and_key(tmp_path: Path, name: str, text: str,
                                                                  needle: str) -> None:
    write(tmp_path / "service.py", echo_source())
    write(tmp_path / name, text)
    result = run_cli("serve", "--port", str(free_port()), cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr


def test_serve_bento_directory_and_stored_tag_from_anywhere(tmp_path: Path) -> None:
    bento_dir = tmp_path / "built"
    write(bento_dir / "bento.yaml", 'name: echo\nversion: v1\nservice: "service:Echo"\n'
                                    'envs: [{name: PREFIX, value: "bento-env:"}]\n')
    write(bento_dir / "src" / "service.py", echo_source("bento:").replace('"bento:"', 'os.environ["PREFIX"]'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with serve([str(bento_dir)], cwd=elsewhere) as server:
        assert call_echo(server.url) == "bento-env:hi"

    from bento.store import open_store

    with open_store().bentos.create("echo", version="v1", extra={"service": "service:Echo"}) as staged:
        staged.path_of("src/service.py").write_text(textwrap.dedent(echo_source("stored:")))
    for tag in ("echo:v1", "echo:latest", "echo"):
        with serve([tag], cwd=elsewhere) as server:
            assert call_echo(server.url) == "stored:hi"


def test_bentoml_service_file_loads_unchanged(tmp_path: Path) -> None:
    write(tmp_path / "service.py", echo_source("legacy:", sdk="bentoml"))
    with serve(["service.py:Echo"], cwd=tmp_path) as server:
        assert call_echo(server.url) == "legacy:hi"


def test_port_precedence_flag_env_config(tmp_path: Path) -> None:
    config_port, env_port = free_port(), free_port()
    write(tmp_path / "service.py", f"""
        import bento

        @bento.service(http={{"port": {config_port}}})
        class Echo:
            @bento.api
            def echo(self, text: str) -> str:
                return text
    """)
    # The flag (passed by serve()) beats BENTO_PORT.
    with serve(["service.py:Echo"], cwd=tmp_path, env={"BENTO_PORT": str(env_port)}) as server:
        assert call_echo(server.url) == "hi"
    for env, port in (({"BENTO_PORT": str(env_port)}, env_port), ({}, config_port)):
        environ = {k: v for k, v in os.environ.items() if k != "BENTO_PORT"}
        proc = subprocess.Popen([sys.executable, "-m", "bento", "serve", "service.py:Echo"], cwd=tmp_path,
                                env={**environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            assert call_echo(f"http://127.0.0.1:{port}") == "hi"
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0


def test_workers_env_override(tmp_path: Path) -> None:
    write(tmp_path / "service.py", """
        import os
        import bento

        @bento.service
        class Pids:
            @bento.api
            def pid(self) -> int:
                return os.getpid()
    """)
    with serve(["service.py:Pids"], cwd=tmp_path, env={"BENTO_WORKERS": "2"}) as server:
        assert "Pids: 2 workers" in server.output()


def test_reload_picks_up_an_edit(tmp_path: Path) -> None:
    source = write(tmp_path / "service.py", echo_source("v1:"))
    with serve(["service.py:Echo", "--reload"], cwd=tmp_path) as server:
        assert call_echo(server.url) == "v1:hi"
        time.sleep(0.05)
        source.write_text(textwrap.dedent(echo_source("version2:")))
        deadline = time.monotonic() + 20
        answer = ""
        while time.monotonic() < deadline:
            try:
                answer = call_echo(server.url)
            except httpx.HTTPError:
                answer = ""
            if answer == "version2:hi":
                break
            time.sleep(0.1)
        assert answer == "version2:hi", server.output()
        assert server.proc.poll() is None  # same supervisor process, same port


def test_development_runs_the_graph_in_one_process(tmp_path: Path) -> None:
    write(tmp_path / "service.py", """
        import os
        import bento

        @bento.service
        class Inner:
            @bento.api
            def pid(self) -> int:
                return os.getpid()

        @bento.service
        class Outer:
            inner = bento.depends(Inner)

            @bento.api
            def pids(self) -> list[int]:
                return [os.getpid(), self.inner.pid()]
    """)
    with serve(["service.py:Outer", "--development"], cwd=tmp_path) as server:
        outer, inner = httpx.post(server.url + "/pids", json={}).json()
        assert outer == inner


def test_dependency_runs_in_its_own_workers_on_a_unix_socket(tmp_path: Path) -> None:
    write(tmp_path / "service.py", """
        import os
        import bento

        @bento.service(workers=2)
        class Inner:
            @bento.api
            def where(self) -> list:
                return [os.getpid(), os.environ.get("BENTO_DEPENDENCY_SOCKETS", "")]

        @bento.service
        class Outer:
            inner = bento.depends(Inner)

            @bento.api
            def pids(self) -> list:
                return [os.getpid(), *self.inner.where()]
    """)
    with serve(["service.py:Outer"], cwd=tmp_path) as server:
        outer, inner, sockets = httpx.post(server.url + "/pids", json={}).json()
        assert outer != inner
        assert "Inner" in sockets and sockets.endswith('.sock"}')
        assert "Outer: 1 worker, Inner: 2 workers" in server.output()
        assert httpx.post(server.url + "/where", json={}).status_code == 404  # only the entry is public
        runtime_dir = Path(__import__("json").loads(sockets)["Inner"]).parent
        assert runtime_dir.stat().st_mode & 0o777 == 0o700
    assert not runtime_dir.exists()  # removed on exit


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["missing.py:Echo"], "does not exist"),
        (["service.py:Nope"], "Nope"),
        (["no_such_module:Echo"], "no_such_module"),
        ([], "no service to serve"),
    ],
)
def test_bad_targets_fail_with_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    write(tmp_path / "service.py", echo_source())
    result = run_cli("serve", *args, "--port", str(free_port()), cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    write(tmp_path / "service.py", echo_source())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "service.py:Echo", "--port", str(port), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_a_service_that_cannot_start_stops_serve_with_its_error(tmp_path: Path) -> None:
    write(tmp_path / "service.py", """
        import bento

        @bento.service
        class Clash:
            @bento.api(route="/readyz")
            def echo(self, text: str) -> str:
                return text
    """)
    result = run_cli("serve", "service.py:Clash", "--port", str(free_port()), cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert "reserved route /readyz" in result.stderr
    assert "was ever ready" in result.stderr and "Traceback" not in result.stderr


def test_init_that_raises_stops_serve_with_the_exception(tmp_path: Path) -> None:
    write(tmp_path / "service.py", """
        import bento

        @bento.service
        class Broken:
            def __init__(self) -> None:
                raise RuntimeError("model file missing")

            @bento.api
            def echo(self, text: str) -> str:
                return text
    """)
    result = run_cli("serve", "service.py:Broken", "--port", str(free_port()), cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert "RuntimeError: model file missing" in result.stderr
    assert "exited with code 3 before Broken was ever ready" in result.stderr


def test_reload_survives_a_broken_edit(tmp_path: Path) -> None:
    source = write(tmp_path / "service.py", echo_source("v1:"))
    with serve(["service.py:Echo", "--reload"], cwd=tmp_path) as server:
        assert call_echo(server.url) == "v1:hi"
        source.write_text("this is not python(\n")
        deadline = time.monotonic() + 20
        while "cannot load the service after a change" not in server.output():
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        assert server.proc.poll() is None
        # Every request answers at once: 503 with the one-line reason, health probes included.
        for path, method in (("/readyz", "GET"), ("/livez", "GET"), ("/echo", "POST")):
            answer = httpx.request(method, server.url + path, json={"text": "hi"}, timeout=5)
            assert answer.status_code == 503, (path, answer.text)
            detail = answer.json()["detail"]
            assert detail.startswith("cannot load the service after a change: ") and "\n" not in detail
            assert detail.endswith("SyntaxError: '(' was never closed (service.py, line 1)")
        log = server.output()
        assert "Traceback" not in log
        assert [line for line in log.splitlines() if "cannot load" in line][0].endswith("(service.py, line 1)")
        source.write_text(textwrap.dedent(echo_source("fixed:")))
        deadline = time.monotonic() + 20
        answer = ""
        while answer != "fixed:hi" and time.monotonic() < deadline:
            try:
                answer = call_echo(server.url)
            except httpx.HTTPError:
                time.sleep(0.1)
        assert answer == "fixed:hi", server.output()
