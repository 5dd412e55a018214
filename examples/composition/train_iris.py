"""Store the two iris models that ``iris.py`` serves: files written with joblib (``iris_sklearn``) and a
pickled estimator with runner signatures (``iris_runner``)."""

from __future__ import annotations

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import bento


def main() -> None:
    X, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    with bento.models.create("iris_sklearn", labels={"example": "composition"}) as m:
        joblib.dump(clf, m.path_of("model.pkl"))
    runner_model = bento.models.save_model(
        "iris_runner", clf, signatures={"predict": {"batchable": True, "batch_dim": 0}}
    )
    print(f"saved {m.tag} and {runner_model.tag}")


if __name__ == "__main__":
    main()
