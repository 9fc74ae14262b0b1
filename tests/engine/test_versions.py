"""Model versions: atomic publish, listing with metrics, rollback, pruning."""

import json

import pytest

from movierec.engine import versions as versions_module
from movierec.engine.versions import ModelVersions
from movierec.errors import MovieRecError
from movierec.models.mf import MatrixFactorization
from tests.models.conformance import checkerboard


@pytest.fixture(scope="module")
def model():
    return MatrixFactorization(n_factors=4, n_epochs=3).fit(checkerboard())


def test_publish_list_and_rollback(tmp_path, model):
    versions = ModelVersions(tmp_path / "mf")
    assert versions.current() is None and versions.list() == []
    assert versions.publish(model, {"fit_seconds": 0.1}) == 1
    assert versions.publish(model, {"fit_seconds": 0.2}) == 2
    listed = versions.list()
    assert [v.number for v in listed] == [1, 2] and [v.current for v in listed] == [False, True]
    assert listed[0].metrics == {"fit_seconds": 0.1}
    assert versions.rollback() == 1 and versions.current_number() == 1
    with pytest.raises(MovieRecError, match="no version before v0001"):
        versions.rollback()
    assert versions.rollback(to=2) == 2
    with pytest.raises(MovieRecError, match="no version 7"):
        versions.rollback(to=7)
    loaded = MatrixFactorization.load(versions.current())
    assert loaded.predict([100], [1000])[0] == pytest.approx(model.predict([100], [1000])[0])


def test_a_failed_publish_leaves_the_current_version_serving(tmp_path, model, monkeypatch):
    versions = ModelVersions(tmp_path / "mf")
    versions.publish(model)

    def broken_save(path):
        (path / "partial.npy").parent.mkdir(parents=True, exist_ok=True)
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", broken_save)
    with pytest.raises(OSError):
        versions.publish(model)
    assert versions.current_number() == 1 and versions.numbers() == [1]
    assert not [p for p in versions.root.iterdir() if p.name.startswith(".publish-")]


def test_old_versions_are_pruned_but_never_the_current(tmp_path, model, monkeypatch):
    monkeypatch.setattr(versions_module, "KEEP", 2)
    versions = ModelVersions(tmp_path / "mf")
    for _ in range(4):
        versions.publish(model)
    assert versions.numbers() == [3, 4]
    versions.rollback()
    versions.publish(model)  # v5 becomes current; pruning keeps the newest two
    assert versions.current_number() == 5 and 5 in versions.numbers()


def test_current_marker_is_written_whole(tmp_path, model):
    versions = ModelVersions(tmp_path / "mf")
    versions.publish(model)
    assert (versions.root / "CURRENT").read_text() == "v0001\n"
    manifest = json.loads((versions.path(1) / "manifest.json").read_text())
    assert manifest["kind"] == "mf"
