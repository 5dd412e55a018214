"""End to end on the real engine: train → build (vendored) → containerize → run → call → stop.

Slow (a few minutes on a cold engine cache): it installs numpy, scipy and scikit-learn into the image.
"""

from __future__ import annotations

import pickle
import re
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from utils import free_port, run_cli  # tests/utils.py (tests/ is on sys.path via its conftest)

SERVICE = '''\
import pickle

import numpy as np

import bento


@bento.service(workers=1, traffic={"timeout": 30})
class IrisClassifier:
    model = bento.models.get("iris_sklearn:latest")

    def __init__(self) -> None:
        with open(self.model.path_of("model.pkl"), "rb") as f:
            self.clf = pickle.load(f)

    @bento.api
    def classify(self, input_series: np.ndarray) -> np.ndarray:
        return self.clf.predict(input_series)

    @bento.on_shutdown
    def goodbye(self) -> None:
        print("iris: shutdown hook ran", flush=True)
'''

BENTOFILE = '''\
service: "service:IrisClassifier"
include: ["*.py"]
python:
  packages: ["scikit-learn=={sklearn}", "numpy=={numpy}"]
  vendor: true
docker:
  base_image: {base}
'''

SAMPLES = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5], [4.6, 3.1, 1.5, 0.2]]


def train(project: Path) -> Any:
    """What a user's train.py does: fit the classifier and save it in the store."""
    import sklearn
    from sklearn import datasets, svm

    from bento.store import open_store

    iris = datasets.load_iris()
    clf = svm.SVC(gamma="scale").fit(iris.data, iris.target)
    with open_store().models.create("iris_sklearn", labels={"framework": "sklearn"}) as m:
        m.path_of("model.pkl").write_bytes(pickle.dumps(clf))
    project.mkdir()
    (project / "service.py").write_text(SERVICE)
    return clf, sklearn.__version__


def build(project: Path) -> str:
    result = run_cli("build", "-o", "tag", cwd=project, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def containerize(bento_tag: str, image: str, *options: str) -> str:
    result = run_cli("containerize", bento_tag, "-t", image, "--progress", "plain", *options, timeout=1500)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stderr


def steps(build_output: str) -> list[tuple[str, bool]]:
    """``[(instruction, served from cache)]`` from the engine's plain build output."""
    out: list[tuple[str, bool]] = []
    for chunk in re.split(r"^Step \d+/\d+ : ", build_output, flags=re.MULTILINE)[1:]:
        instruction, _, rest = chunk.partition("\n")
        out.append((instruction.strip(), "---> Using cache" in rest))
    return out


def own_wheel(bento_tag: str) -> bytes:
    """Our own package's wheel as built into the bento (from this checkout)."""
    from bento.store import open_store

    local = open_store().bentos.get(bento_tag).path / "env" / "python" / "local"
    return b"".join(p.read_bytes() for p in sorted(local.glob("*.whl")))


def wait_healthy(container: Any, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        if state["Status"] == "exited":
            raise AssertionError(f"container exited with {state['ExitCode']}:\n{container.logs().decode()}")
        if state.get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(1)
    raise AssertionError(f"container not healthy after {timeout}s:\n{container.logs().decode()}")


@pytest.mark.docker
@pytest.mark.slow
def test_train_build_containerize_run_call_stop(tmp_path: Path, base_image: str, docker_client,
                                                 cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "iris"
    clf, sklearn_version = train(project)
    (project / "bentofile.yaml").write_text(
        BENTOFILE.format(sklearn=sklearn_version, numpy=np.__version__, base=base_image))
    bento_tag = build(project)
    image = f"bento-e2e-iris:{bento_tag.split(':')[1]}"
    cleanup.append(image)
    # Vendored: every layer builds with no network at all.
    output = containerize(bento_tag, image, "--network", "none", "--no-cache")
    assert "copying model iris_sklearn:" in output  # the model travels with the image

    attrs = docker_client.images.get(image).attrs
    assert attrs["Config"]["User"] not in ("", "root", "0")
    assert attrs["Config"]["Labels"]["ai.bento.tag"] == bento_tag

    port = free_port()
    container = docker_client.containers.run(image, detach=True, ports={"3000/tcp": ("127.0.0.1", port)})
    cleanup.append(f"container:{container.id}")
    wait_healthy(container)
    response = httpx.post(f"http://127.0.0.1:{port}/classify", json={"input_series": SAMPLES}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == clf.predict(np.array(SAMPLES)).tolist()

    container.stop(timeout=30)
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0, container.logs().decode()
    assert "iris: shutdown hook ran" in container.logs().decode()

    # A one-line source change: only the source layers are rebuilt; system packages, the Python
    # environment and the models come from the engine's cache.
    with open(project / "service.py", "a") as f:
        f.write("# a one-line change\n")
    second_tag = build(project)
    assert second_tag != bento_tag
    second_image = f"bento-e2e-iris:{second_tag.split(':')[1]}"
    cleanup.append(second_image)
    done = steps(containerize(second_tag, second_image))
    first_source = next(i for i, (instruction, _) in enumerate(done) if "bento.yaml" in instruction)
    assert any("models-store" in instruction for instruction, _ in done[:first_source])
    expected_cached = done[:first_source]
    if own_wheel(bento_tag) != own_wheel(second_tag):
        # Only when the bento package itself is edited between the two builds (developing bento in a
        # shared checkout): its wheel, and every layer after it, legitimately changes. The system
        # packages and the locked third-party packages must still come from the cache.
        expected_cached = done[:next(i for i, (ins, _) in enumerate(done) if "env/python/local" in ins)]
        assert any("requirements.lock.txt" in ins for ins, _ in expected_cached)
    uncached = [i for i, c in expected_cached if not c and not i.startswith(("FROM", "ARG"))]  # no layers
    assert not uncached, uncached
    assert not done[first_source][1], done


ECHO_SERVICE = '''\
import bento


@bento.service
class Echo:
    @bento.api
    def echo(self, text: str) -> str:
        return text
'''


@pytest.mark.docker
@pytest.mark.slow
def test_index_install_trusts_the_hosts_pip_ca(tmp_path: Path, base_image: str, docker_client,
                                               cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Not vendored: pip in the build reaches the index with the CA bundle the host's pip trusts
    (needed behind TLS-intercepting proxies), and that bundle does not end up in the image."""
    project = tmp_path / "echo"
    project.mkdir()
    (project / "service.py").write_text(ECHO_SERVICE)
    (project / "bentofile.yaml").write_text(
        f'service: "service:Echo"\ninclude: ["*.py"]\ndocker:\n  base_image: {base_image}\n')
    bento_tag = build(project)
    image = f"bento-e2e-echo:{bento_tag.split(':')[1]}"
    cleanup.append(image)
    containerize(bento_tag, image, "--no-cache")
    listing = docker_client.containers.run(
        image, ["sh", "-c", "ls /opt/bento/python 2>&1; bento --version"], remove=True).decode()
    assert "No such file" in listing  # neither the CA bundle nor the lock file is in the final image
    from bento import __version__

    assert f"version {__version__}" in listing  # the packages were installed from the index
