"""`movierec plot embeddings` as a user runs it, on real ml-100k."""

import json

import numpy as np
import pytest

from tests.conftest import shared_dataset
from tests.test_cli_data import movierec

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    movierec(
        "data", "import", str(shared_dataset("ml-100k-recbole")), "--name", "ml-100k", home=home
    )
    return home


def test_plot_embeddings_writes_a_png_and_reports_the_variance(home, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    target = tmp_path / "map.png"
    first = movierec(
        "plot", "embeddings", "--model", "mf", "--out", str(target), "-n", "25", home=home
    )
    assert "fitting mf on ml-100k" in first.stderr  # nothing stored yet: fitted and stored
    assert str(target) in first.stdout and "of the variance" in first.stdout
    png = target.read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    pixels = image.imread(target)
    assert pixels.shape[0] >= 600 and pixels.shape[1] >= 800
    assert len(np.unique(pixels[..., :3].reshape(-1, 3), axis=0)) > 100  # not blank

    again = movierec(
        "plot", "embeddings", "--model", "mf", "--out", str(target), "-n", "25", "--json", home=home
    )
    document = json.loads(again.stdout)  # stdout is one JSON document and nothing else
    assert "fitting" not in again.stderr  # the stored version is used
    assert document["path"] == str(target) and document["model"] == "mf"
    assert document["n"] == 25 and len(document["movies"]) == 25
    assert document["movies"][0]["label"] == "Star Wars (1977)"
    shares = document["explained_variance"]
    assert len(shares) == 2 and 0 < shares[1] <= shares[0] and sum(shares) < 1
    assert document["explained_total"] == pytest.approx(sum(shares), abs=1e-5)
    assert target.read_bytes() == png  # the same stored model draws the same picture


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "ease"], "'ease' model has no movie vectors"),
        (["--model", "deep-magic"], "unknown model 'deep-magic'"),
        (["-n", "2"], "n 2 is not allowed"),
    ],
)
def test_plot_errors(home, tmp_path, args, message):
    result = movierec(
        "plot", "embeddings", *args, "--out", str(tmp_path / "x.png"), home=home, check=False
    )
    assert result.returncode == 1 and message in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_plot_help_documents_the_command(home):
    text = movierec("plot", "embeddings", "--help", home=home).stdout
    assert "--out" in text and "--model" in text and "most-rated" in text
    assert "plot" in movierec("--help", home=home).stdout
