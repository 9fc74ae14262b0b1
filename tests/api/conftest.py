"""A live service on a tmp home with ml-100k imported, shared by a module's tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from movierec.api import Settings, create_app
from movierec.data.sources import load_path
from movierec.data.storage import save_dataset
from movierec.engine.core import Engine
from movierec.home import Home
from tests.conftest import copy_descriptions, shared_dataset

ADMIN = "test-admin-key"


@pytest.fixture(scope="session")
def api_home(tmp_path_factory, ml100k_descriptions):
    """A home folder with ml-100k stored and ALS trained as the default (once per session):
    the built-in default, the hybrid, takes a minute or more to fit. Its description index
    is the session's (``ml100k_descriptions``)."""
    data = load_path(shared_dataset("ml-100k-recbole"), "ml-100k")
    home = Home(tmp_path_factory.mktemp("api") / "home")
    save_dataset(data, home)
    copy_descriptions(ml100k_descriptions, home.dataset_dir("ml-100k"))
    Engine(data, home).train("als")
    return home


@pytest.fixture(scope="module")
def settings(api_home, tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "ratings.db"
    return Settings(
        home=api_home.root,
        dataset="ml-100k",
        db=str(db),
        admin_key=ADMIN,
        retrain_after_ratings=1_000_000,
    )


@pytest.fixture(scope="module")
def client(settings):
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client
