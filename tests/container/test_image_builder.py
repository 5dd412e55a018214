"""``@service(image=bento.images.Image(...))`` on the real engine: the image has what the Image declared."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from utils import run_cli  # tests/utils.py (tests/ is on sys.path via its conftest)

SERVICE = '''
import bentoml
from bentoml.images import Image

image = (Image(python_version="3.11", base_image="{base}")
         .python_packages("six==1.16.0")
         .run("echo built-by-image > /etc/bento-image-marker")
         .run_script("setup.sh"))

@bentoml.service(image=image)
class Echo:
    @bentoml.api
    def echo(self, text: str) -> str:
        import six
        return f"{{text}} (six {{six.__version__}})"
'''


@pytest.mark.docker
@pytest.mark.slow
def test_image_declared_in_python_reaches_the_container(tmp_path: Path, base_image: str, docker_client,
                                                         cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "project"
    project.mkdir()
    (project / "service.py").write_text(textwrap.dedent(SERVICE.format(base=base_image)))
    (project / "setup.sh").write_text("echo from-script >> /etc/bento-image-marker\n")
    (project / "bentofile.yaml").write_text('service: "service:Echo"\ninclude: ["*.py"]\n')
    built = run_cli("build", "-o", "tag", cwd=project, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    tag = built.stdout.strip().splitlines()[-1]
    cleanup.append("bento-test-image:1")
    made = run_cli("containerize", tag, "-t", "bento-test-image:1", "--progress", "quiet", timeout=1500)
    assert made.returncode == 0, made.stdout + made.stderr
    out = docker_client.containers.run(
        "bento-test-image:1", entrypoint=["sh", "-c"],
        command=["cat /etc/bento-image-marker && python -c 'import six; print(six.__version__)'"], remove=True)
    assert out.decode().split() == ["built-by-image", "from-script", "1.16.0"]
