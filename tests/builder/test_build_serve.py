"""Train -> build -> serve the built bento by tag from an empty directory, with the project moved away."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import MakeProject
from utils import run_cli, serve  # tests/utils.py (tests/ is on sys.path via its conftest)

TRAIN = '''
import bento
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True)
clf = LogisticRegression(max_iter=500).fit(X, y)
print(bento.models.save_model("iris_clf", clf).tag)
'''

SERVICE = '''
import numpy as np

import bento


@bento.service(traffic={"timeout": 10})
class IrisClassifier:
    model_ref = bento.models.get("iris_clf:latest")

    def __init__(self) -> None:
        self.model = self.model_ref.load_model()

    @bento.api
    def classify(self, features: np.ndarray) -> np.ndarray:
        return self.model.predict(features)
'''


@pytest.mark.slow
def test_train_build_and_serve_by_tag_from_anywhere(make_project: MakeProject, tmp_path: Path) -> None:
    root = make_project('service: "service:IrisClassifier"\ninclude: ["*.py"]\npython:\n  packages: [scikit-learn]\n',
                        files={"service.py": SERVICE, "train.py": TRAIN})
    trained = subprocess.run([sys.executable, "train.py"], cwd=root, capture_output=True, text=True, timeout=120)
    assert trained.returncode == 0, trained.stderr
    built = run_cli("build", str(root), "-o", "tag")
    assert built.returncode == 0, built.stderr
    tag = built.stdout.strip()
    assert tag.startswith("iris_classifier:")

    import bento

    clf = bento.models.get("iris_clf:latest").load_model()
    samples = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    expected = clf.predict(samples).tolist()

    shutil.move(str(root), str(tmp_path / "moved-away"))
    empty = tmp_path / "empty"
    empty.mkdir()
    bento_dir = str(bento.bentos.get(tag).path)
    for ref in ("iris_classifier:latest", bento_dir):
        with serve([ref], cwd=empty) as server:
            response = httpx.post(server.url + "/classify", json={"features": samples}, timeout=10)
            assert response.status_code == 200, server.output()
            assert response.json() == expected
