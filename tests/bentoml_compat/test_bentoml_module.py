"""`import bentoml` and the `bentoml` command where Bento is installed and the real BentoML is not, and
never in the way of a real BentoML."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from compat_utils import run_in, user_venv  # noqa: F401 (a fixture)

FAKE_BENTOML = '''
REAL = "the real BentoML"
'''

FAKE_BENTOML_CLI = '''
import click


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def cli(args):
    click.echo("real bentoml cli " + " ".join(args))
'''


def test_import_bentoml_in_this_process_is_bento_with_one_module_per_name() -> None:
    import bentoml

    import bento
    import bento.models
    import bentoml.models
    import bentoml.validators

    assert bentoml is bento
    assert sys.modules["bentoml.models"] is sys.modules["bento.models"] is bentoml.models
    assert bentoml.validators is sys.modules["bento.validators"]
    assert bento.__spec__ is not None and bento.__spec__.name == "bento"  # the alias left bento's own spec


@pytest.mark.slow
def test_a_plain_python_script_imports_bentoml_and_startup_stays_light(user_venv: Path, tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("import sys\nloaded = sorted(m for m in sys.modules if m.startswith('bento'))\n"
                      "import bentoml, bento\nassert bentoml is bento\nprint(loaded, bentoml.__name__)\n")
    result = run_in(user_venv, "python", "train.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] bento"  # nothing of ours is imported until `import bentoml`


@pytest.mark.slow
def test_the_real_bentoml_is_never_shadowed(user_venv: Path, tmp_path: Path) -> None:
    installed = tmp_path / "site"
    (installed / "bentoml").mkdir(parents=True)
    (installed / "bentoml" / "__init__.py").write_text(FAKE_BENTOML)
    (installed / "bentoml_cli").mkdir()
    (installed / "bentoml_cli" / "__init__.py").write_text("")
    (installed / "bentoml_cli" / "cli.py").write_text(FAKE_BENTOML_CLI)
    env = {"PYTHONPATH": str(installed)}
    result = run_in(user_venv, "python", "-c", "import bentoml; print(bentoml.REAL)", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "the real BentoML"
    command = run_in(user_venv, "bentoml", "serve", "x", cwd=tmp_path, env=env)
    assert command.stdout.strip() == "real bentoml cli serve x", command.stderr


@pytest.mark.slow
def test_the_bentoml_command_is_the_bento_cli(user_venv: Path, tmp_path: Path) -> None:
    result = run_in(user_venv, "bentoml", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: bentoml [OPTIONS] COMMAND") and "containerize" in result.stdout
    assert not (user_venv / "bin" / "bentoml").read_text().count("bento.cli:main")  # the deferring shim
    bare = run_in(user_venv, "python", "-m", "bentoml", "--version", cwd=tmp_path)
    assert bare.returncode == 0 and "0." in bare.stdout, bare.stderr
