"""Golden Dockerfiles: the whole rendered file per configuration, produced by real builds.

Refresh after an intended change with ``BENTO_UPDATE_GOLDEN=1 pytest tests/builder/test_build_dockerfile.py``
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import MakeProject

from bento.builder.build import build_bento

GOLDEN = Path(__file__).parent / "golden"

CONFIGS = {
    "default": 'service: "service:Echo"\n',
    "base_image": """\
        service: "service:Echo"
        docker:
          base_image: "bento-test-base:bookworm"
          env:
            APP_MODE: production
        envs:
          - name: GREETING
            value: "hello $USER"
        """,
    "cuda": """\
        service: "service:Echo"
        docker:
          python_version: "3.11"
          cuda_version: "12.4.1"
        """,
    "system_packages": """\
        service: "service:Echo"
        docker:
          python_version: "3.11"
          system_packages: [git, libgomp1]
          setup_script: setup.sh
        """,
    "vendored": """\
        service: "service:Echo"
        python:
          vendor: true
        docker:
          python_version: "3.11"
        """,
}


def dockerfile_of(make_project: MakeProject, bentofile: str, files: dict[str, str] | None = None) -> str:
    root = make_project(bentofile, files={"setup.sh": "#!/bin/sh\necho setting up\n", **(files or {})})
    return (build_bento(root).path / "env" / "docker" / "Dockerfile").read_text()


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_golden_dockerfile(case: str, make_project: MakeProject) -> None:
    rendered = dockerfile_of(make_project, CONFIGS[case])
    golden = GOLDEN / f"{case}.Dockerfile"
    if os.environ.get("BENTO_UPDATE_GOLDEN") == "1":
        golden.write_text(rendered)
    assert rendered == golden.read_text()


def test_gpu_service_selects_the_cuda_base(make_project: MakeProject) -> None:
    service = (
        "import bento\n\n@bento.service(resources={'gpu': 1})\nclass Echo:\n"
        "    @bento.api\n    def echo(self, text: str) -> str:\n        return text\n"
    )
    rendered = dockerfile_of(make_project, 'service: "service:Echo"\ndocker:\n  python_version: "3.11"\n',
                             files={"service.py": service})
    assert rendered == (GOLDEN / "cuda.Dockerfile").read_text()


def test_unlocked_requirements_are_installed_with_resolution(make_project: MakeProject) -> None:
    root = make_project('service: "service:Echo"\npython:\n  lock_packages: false\n  packages: ["six>=1.16"]\n')
    bento = build_bento(root).path
    lock = (bento / "env/python/requirements.lock.txt").read_text()
    assert "six>=1.16" in lock.splitlines()
    assert "--hash" not in lock
    dockerfile = (bento / "env/docker/Dockerfile").read_text()
    assert "pip install  -r" not in dockerfile
    assert "--require-hashes" not in dockerfile


def test_entrypoint_execs_bento_serve_on_all_interfaces(make_project: MakeProject) -> None:
    bento = build_bento(make_project()).path
    script = (bento / "env/docker/entrypoint.sh").read_text()
    assert 'exec bento serve /home/bento/bento --host 0.0.0.0 --port "${BENTO_PORT:-3000}"' in script
