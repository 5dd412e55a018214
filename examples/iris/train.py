"""Train an iris classifier and save it in the local store (then: bento build, bento containerize)."""

import pickle

from sklearn import datasets, svm

import bento

iris = datasets.load_iris()
clf = svm.SVC(gamma="scale").fit(iris.data, iris.target)
with bento.models.create("iris_sklearn", labels={"framework": "sklearn"}) as model:
    model.path_of("model.pkl").write_bytes(pickle.dumps(clf))
print(f"saved {model.model.tag}")
