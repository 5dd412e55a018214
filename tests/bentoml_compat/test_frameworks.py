"""Framework model modules with BentoML's API, round-tripped with the real frameworks installed in CI
(scikit-learn, lightgbm); the others fail with an "install X" error when their framework is missing."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import bentoml
import bentoml.exceptions
from bento.frameworks import NAMES


@pytest.fixture
def iris() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    features, target = load_iris(return_X_y=True)
    return features, target


def test_sklearn_round_trip_with_labels_metadata_custom_objects_and_a_runner(iris: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.linear_model import LogisticRegression

    features, target = iris
    clf = LogisticRegression(max_iter=500).fit(features, target)
    saved = bentoml.sklearn.save_model("iris_clf", clf, labels={"owner": "ml"}, metadata={"acc": 0.97},
                                       custom_objects={"classes": ["setosa", "versicolor", "virginica"]})
    assert repr(saved) == f'Model(tag="{saved.tag}", path="{saved.path}")' and str(saved) == saved.tag
    assert saved.info["framework"] == "sklearn" and saved.signatures == {"predict": {"batchable": False}}

    got = bentoml.models.get("iris_clf:latest")
    assert got == saved and str(got) == saved.tag
    assert got.labels == {"owner": "ml"} and got.metadata == {"acc": 0.97}
    assert bentoml.sklearn.get("iris_clf").custom_objects == {"classes": ["setosa", "versicolor", "virginica"]}
    loaded = bentoml.sklearn.load_model("iris_clf:latest")
    np.testing.assert_array_equal(loaded.predict(features), clf.predict(features))
    np.testing.assert_array_equal(bentoml.sklearn.load_model(got).predict(features[:3]), clf.predict(features[:3]))

    runner = bentoml.sklearn.get("iris_clf:latest").to_runner()
    np.testing.assert_array_equal(runner.predict.run(features[:5]), clf.predict(features[:5]))


def test_lightgbm_booster_and_estimator_round_trip(iris: tuple[np.ndarray, np.ndarray]) -> None:
    import lightgbm as lgb

    features, target = iris
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1},
                        lgb.Dataset(features, target), num_boost_round=5)
    bentoml.lightgbm.save_model("iris_lgb", booster)
    loaded = bentoml.lightgbm.load_model("iris_lgb:latest")
    assert isinstance(loaded, lgb.Booster)
    np.testing.assert_allclose(loaded.predict(features), booster.predict(features))

    estimator = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(features, target)
    bentoml.lightgbm.save_model("iris_lgbm_clf", estimator, signatures={"predict_proba": {"batchable": True}})
    back = bentoml.lightgbm.load_model("iris_lgbm_clf")
    assert isinstance(back, lgb.LGBMClassifier)
    np.testing.assert_allclose(back.predict_proba(features), estimator.predict_proba(features))
    assert bentoml.lightgbm.get("iris_lgbm_clf").signatures == {"predict_proba": {"batchable": True}}


def test_picklable_model_keeps_any_object_and_its_call_signature() -> None:
    saved = bentoml.picklable_model.save_model("settings", {"k": 3})
    assert saved.signatures == {"__call__": {"batchable": False}}
    assert bentoml.picklable_model.load_model(saved.tag) == {"k": 3}
    assert bentoml.models.get("settings").load_model() == {"k": 3}  # Model.load_model dispatches on the framework


def test_loading_with_the_wrong_framework_module_names_the_right_one() -> None:
    bentoml.picklable_model.save_model("thing", [1, 2])
    with pytest.raises(bentoml.exceptions.InvalidArgument,
                       match="not saved with bentoml.sklearn but with picklable_model; load it with "
                             "bentoml.picklable_model.load_model"):
        bentoml.sklearn.load_model("thing")


@pytest.mark.parametrize("name, module, package", [("pytorch", "torch", "torch"), ("onnx", "onnx", "onnx"),
                                                     ("transformers", "transformers", "transformers"),
                                                     ("xgboost", "xgboost", "xgboost")])
def test_a_missing_framework_says_what_to_install(name: str, module: str, package: str) -> None:
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    framework = getattr(bentoml, name)
    with pytest.raises(bentoml.exceptions.NotFound, match=f"bentoml.{name} needs {module}, which is not installed: "
                                                          f"`pip install {package}`"):
        framework.save_model("m", object())
    assert framework.save_model.__name__ == "save_model" and framework.load_model and framework.get


def test_every_framework_module_has_bentoml_s_functions_and_imports_its_framework_lazily() -> None:
    import subprocess
    import sys

    code = ("import sys, bentoml\n"
            f"for n in {list(NAMES)!r}: getattr(bentoml, n).save_model, getattr(bentoml, n).load_model\n"
            "print(sorted(m for m in ('torch', 'onnx', 'transformers', 'xgboost', 'lightgbm', 'sklearn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
