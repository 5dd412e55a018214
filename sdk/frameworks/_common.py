"""What every framework module shares: saving a model version with the manifest keys BentoML users expect
(framework, signatures, custom objects) and loading it back, checked against the framework it was saved with."""

from __future__ import annotations

import importlib
import importlib.util
import pickle
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping

from bento.core.errors import InvalidArgument, NotFound
from bento.models import Model, _signatures, create, get as _get_model

CUSTOM_OBJECTS_FILE = "custom_objects.pkl"


class FrameworkMissing(NotFound):
    """The framework a model module needs is not installed."""


@dataclass(frozen=True)
class Framework:
    """One framework: how its objects are written into and read from a model directory."""

    name: str  # the module name under bento / bentoml (`sklearn`)
    module: str  # what to import (`sklearn`)
    package: str  # what to install (`scikit-learn`)
    default_signatures: Mapping[str, Any]
    save: Callable[[ModuleType, Any, Path], None]  # writes the model's files into the directory
    load: Callable[[ModuleType, Model, Mapping[str, Any]], Any]  # (framework module, model, load kwargs)

    def imported(self, module: str | None = None, package: str | None = None) -> ModuleType:
        """The framework (or a companion module), or FrameworkMissing naming what to install."""
        module, package = module or self.module, package or self.package
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise FrameworkMissing(
                f"bentoml.{self.name} needs {module}, which is not installed: `pip install {package}` "
                f"(and add it to `python.packages` in bentofile.yaml) ({exc})") from None


def framework_version(module: ModuleType) -> str:
    return str(getattr(module, "__version__", "unknown"))


def save_model(fw: Framework, name: str, model: Any, *, signatures: Mapping[str, Any] | None,
               labels: Mapping[str, Any] | None, custom_objects: Mapping[str, Any] | None,
               external_modules: list[ModuleType] | None, metadata: Mapping[str, Any] | None) -> Model:
    lib = fw.imported()
    sigs = _signatures(signatures if signatures is not None else fw.default_signatures)
    if custom_objects is not None and not isinstance(custom_objects, Mapping):
        raise InvalidArgument("custom_objects must be a dict of name -> picklable object")
    if external_modules:  # BentoML copies their source into the model; here they travel in the bento's src
        names = [getattr(m, "__name__", repr(m)) for m in external_modules]
        raise InvalidArgument(f"external_modules ({', '.join(names)}) is not supported: keep those modules in "
                              "the project so `bento build` packs them with the service")
    extra: dict[str, Any] = {"framework": fw.name, "framework_versions": {fw.module: framework_version(lib)},
                             "saved_with": fw.name, "signatures": sigs,
                             "object_type": f"{type(model).__module__}.{type(model).__qualname__}"}
    with create(name, labels=labels, metadata=metadata, extra=extra) as m:
        fw.save(lib, model, m.path)
        if custom_objects:
            with open(m.path_of(CUSTOM_OBJECTS_FILE), "wb") as fh:
                pickle.dump(dict(custom_objects), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return m.model


def get(tag: str | Model) -> Model:
    return tag if isinstance(tag, Model) else _get_model(str(tag))


def load_model(fw: Framework, bento_model: str | Model, **kwargs: Any) -> Any:
    model = get(bento_model)
    saved_with = model.info.get("framework") or model.info.get("saved_with")
    if saved_with != fw.name:
        how = f"bentoml.{saved_with}.load_model" if saved_with else f"the files under {model.path}"
        raise InvalidArgument(f"model {model.tag} was not saved with bentoml.{fw.name} but with "
                              f"{saved_with or 'bento.models.create'}; load it with {how}")
    lib = fw.imported()
    model.item.check(deep=False)
    return fw.load(lib, model, kwargs)


def custom_objects_of(model: Model) -> dict[str, Any]:
    path = model.path / CUSTOM_OBJECTS_FILE
    if not path.is_file():
        return {}
    with open(path, "rb") as fh:
        return dict(pickle.load(fh))


def framework_of(name: str) -> Any:
    """The framework module ``bento.frameworks.<name>`` (for Model.load_model)."""
    if importlib.util.find_spec(f"bento.frameworks.{name}") is None:
        raise InvalidArgument(f"no framework module bento.{name}")
    return importlib.import_module(f"bento.frameworks.{name}")
