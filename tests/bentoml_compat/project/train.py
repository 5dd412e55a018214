# A BentoML-style training script, run unchanged with `python train.py`.
import bentoml
from sklearn import svm
from sklearn.datasets import load_iris

iris = load_iris()
clf = svm.SVC(gamma="scale").fit(iris.data, iris.target)
saved = bentoml.sklearn.save_model(
    "iris_sklearn",
    clf,
    labels={"owner": "ml-team", "stage": "dev"},
    metadata={"dataset": "iris"},
    custom_objects={"target_names": list(iris.target_names)},
)
print(f"Model saved: {saved}")
