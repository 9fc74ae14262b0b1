"""The model hub: one dataset's fitted models, by name, each built once.

A model is taken from memory, else from the home folder's current version (if it was trained
from this very dataset, by fingerprint), else fitted now and published as a new version. `movierec
train` marks the model `recommend` uses (the ``DEFAULT`` file beside the versions); the online
updater swaps a retrained model in by replacing one reference.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from functools import cached_property

from movierec.data.dataset import Dataset
from movierec.engine.versions import ModelVersions, Version
from movierec.errors import DataFormatError, InvalidValueError, NoRatingsError
from movierec.home import Home
from movierec.models import registry
from movierec.models.als import ALS, ALSConfig
from movierec.models.base import Recommender, read_manifest
from movierec.models.online import OnlineRecommender
from movierec.models.sparkals import fit_on_spark

log = logging.getLogger(__name__)

#: what `recommend` and the service use when no `movierec train` has named a default
DEFAULT_MODEL = "hybrid"
#: "similar movies by collaborative taste" when the default model is not collaborative
COLLAB_MODEL = "als"
#: models whose movie similarities come from who rated what (the others' do not, or mix in
#: content and popularity)
COLLAB_KINDS = ("als", "mf", "knn", "ease", "ials")


class ModelHub:
    """The fitted models of one dataset: cache, stored versions, fitting, the default."""

    def __init__(self, dataset: Dataset, home: Home | None = None):
        self.dataset = dataset
        self.home = home
        self._models: dict[str, Recommender] = {}

    @cached_property
    def fingerprint(self) -> str:
        """Fingerprint of the dataset as imported (the store's additions are not part of it)."""
        return self.dataset.fingerprint()

    def model(self, name: str) -> Recommender:
        """A fitted model by name: from memory, the home folder's current version, or fitted now.

        A stored version is used only if it was trained from this very dataset (its
        ``base_fingerprint``); otherwise the model is refitted and published as a new version.
        """
        if name in self._models:
            return self._models[name]
        model = self.stored_model(name)
        if model is None:
            model, _ = self._fit(name)
        self._models[name] = model
        return model

    def stored_model(self, name: str) -> Recommender | None:
        """The home folder's current version of a model, if it was trained from this very
        dataset; None when there is none (or it is unreadable: logged)."""
        versions = self.versions(name)
        current = versions.current() if versions is not None else None
        if current is None:
            return None
        try:
            manifest = read_manifest(current)
            if manifest.get("metrics", {}).get("base_fingerprint") == self.fingerprint:
                return registry.resolve(name)[0].load(current)
        except (DataFormatError, OSError, ValueError) as exc:
            log.warning("ignoring the stored %s model: %s", name, exc)
        return None

    def in_memory(self, name: str) -> bool:
        """Whether :meth:`model` answers at once (no load, no fit)."""
        return name in self._models

    def is_stored(self, name: str) -> bool:
        """Whether the home folder holds a version of the model (of any dataset fingerprint)."""
        versions = self.versions(name)
        return versions is not None and versions.current() is not None

    def swap(self, name: str, model: Recommender) -> None:
        """Serve ``model`` under ``name`` from now on (one reference replaced: atomic)."""
        self._models[name] = model

    def versions(self, name: str) -> ModelVersions | None:
        """The stored versions of a model of this dataset (None without a home folder)."""
        if self.home is None:
            return None
        return ModelVersions(self.home.models / self.dataset.name / name)

    def stored_seq(self, name: str) -> int:
        """The store seq the model's current version was fitted at (0: from the dataset)."""
        versions = self.versions(name)
        current = versions.current() if versions is not None else None
        if current is None:
            return 0
        return int(read_manifest(current).get("metrics", {}).get("store_seq", 0))

    # --- which model ----------------------------------------------------------------------------

    def default_model(self) -> str:
        """The model named by the last `movierec train`, else :data:`DEFAULT_MODEL`."""
        if self.home is not None:
            marker = self.home.models / self.dataset.name / "DEFAULT"
            if marker.exists():
                return marker.read_text().strip()
        return DEFAULT_MODEL

    def serving_model(self) -> str:
        """The model new ratings are folded into: the default one if it can fold in, else
        :data:`DEFAULT_MODEL`."""
        name = self.default_model()
        return name if issubclass(registry.resolve(name)[0], OnlineRecommender) else DEFAULT_MODEL

    def collab_name(self) -> str:
        """The default model when its neighbours are collaborative, else :data:`COLLAB_MODEL`
        (the hybrid's mix popularity and content in; a content model's are content)."""
        name = self.default_model()
        return name if name.split("-")[0] in COLLAB_KINDS else COLLAB_MODEL

    # --- fitting --------------------------------------------------------------------------------

    def train(
        self,
        name: str,
        *,
        make_default: bool = True,
        spark: str | None = None,
        device: str | None = None,
    ) -> tuple[Recommender, float]:
        """Fit a model from scratch (on the Spark master ``spark``, or on the PyTorch ``device``,
        if given), publish it as a new version, and (by default) make it the one `recommend`
        uses."""
        model, seconds = self._fit(name, spark, device)
        if self.home is not None and make_default:
            (self.home.models / self.dataset.name / "DEFAULT").write_text(name + "\n")
        self._models[name] = model
        return model, seconds

    def _fit(
        self, name: str, spark: str | None = None, device: str | None = None
    ) -> tuple[Recommender, float]:
        """Fit on the dataset (on Spark when ``spark`` names a master, on ``device`` when the
        model trains with PyTorch) and publish the result as the model's next version."""
        model_class, config = registry.resolve(name)
        if not len(self.dataset.ratings) and model_class.kind != "content":
            raise NoRatingsError(self.dataset.name, f"fit {name} on")
        if device is not None:
            if not any(f.name == "device" for f in dataclasses.fields(config)):
                raise InvalidValueError(
                    "device",
                    device,
                    f"left out: {name} does not train on a device (twotower and multvae do)",
                )
            config = type(config).from_json(config.to_json() | {"device": device})
        log.info("fitting %s on %s", name, self.dataset.name)
        started = time.perf_counter()
        if spark is None:
            model: Recommender = model_class(config).fit(self.dataset)
        elif isinstance(config, ALSConfig) and model_class is ALS:
            stored = None if self.home is None else self.home.dataset_dir(self.dataset.name)
            parquet = None if stored is None else stored / "ratings.parquet"
            if parquet is not None and not parquet.exists():
                parquet = None  # an unstored dataset: Spark reads the frame in memory
            model = fit_on_spark(self.dataset, config, master=spark, parquet=parquet)
        else:
            raise InvalidValueError("engine", "spark", f"a model Spark fits (als), not {name!r}")
        seconds = time.perf_counter() - started
        versions = self.versions(name)
        if versions is not None:
            versions.publish(
                model,
                {
                    "base_fingerprint": self.fingerprint,
                    "trained_from": "dataset",
                    "fit_seconds": round(seconds, 3),
                    "ratings": len(self.dataset.ratings),
                },
            )
        return model, seconds


def stored_versions(home: Home, dataset: str, model: str | None = None) -> dict[str, list[Version]]:
    """The stored versions of one model, or of every model, of a dataset, oldest first; read
    from the home folder without loading the dataset."""
    root = home.models / dataset
    if model:
        names = [model]
    else:
        names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return {name: ModelVersions(root / name).list() for name in names}


def rollback(home: Home, dataset: str, model: str, to: int | None = None) -> int:
    """Serve an earlier stored version of a model (``to``, or the one before the current)."""
    return ModelVersions(home.models / dataset / model).rollback(to)


def check_model_name(name: str) -> None:
    """Refuse a name the registry does not know, naming the ``model`` field and the choices."""
    if name not in registry.MODELS:
        raise InvalidValueError("model", name, "one of " + ", ".join(registry.names()))
