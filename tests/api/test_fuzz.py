"""Schema-driven fuzzing from the app's own OpenAPI: whatever comes in, never a 5xx.

schemathesis generates requests from each operation's schema (valid and invalid ones) and
checks every response: status documented, body conforming to the declared model, no 5xx.
The app is created at import (schemathesis needs its schema to parametrize); its engine is
built by the module fixture, after it has stored ml-100k in the app's home.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import positive_data_acceptance  # noqa: E402

from movierec.api import Settings, create_app  # noqa: E402
from movierec.api.service import Service  # noqa: E402
from movierec.data.sources import load_path  # noqa: E402
from movierec.data.storage import save_dataset  # noqa: E402
from movierec.engine.core import Engine  # noqa: E402
from movierec.home import Home  # noqa: E402
from tests.api.conftest import ADMIN  # noqa: E402
from tests.conftest import shared_dataset  # noqa: E402

ROOT = Path(tempfile.mkdtemp(prefix="movierec-fuzz-"))
SETTINGS = Settings(
    home=ROOT / "home",
    dataset="ml-100k",
    db=str(ROOT / "ratings.db"),
    admin_key=ADMIN,
    retrain_after_ratings=1_000_000,
)
APP = create_app(SETTINGS)
schema = schemathesis.openapi.from_dict(APP.openapi())  # from_asgi would start the engine now
schema.app = APP


@pytest.fixture(scope="module", autouse=True)
def _stored_dataset():
    try:
        save_dataset(load_path(shared_dataset("ml-100k-recbole"), "ml-100k"), Home(ROOT / "home"))
        # schemathesis runs the app's lifespan around every case: inject an engine built once,
        # which the app does not own, so no case's shutdown closes it.
        engine = Engine.open(
            SETTINGS.resolved_home(), "ml-100k", db=SETTINGS.db, policy=SETTINGS.policy()
        )
        engine.train("als")  # served: the built-in default (hybrid) takes a minute to fit
        APP.state.service = Service(SETTINGS, engine)
        APP.state.service.engine  # noqa: B018  (warmed before the first case)
        yield
        engine.online().store.close()
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_5xx_and_responses_match_the_schema(case):
    # Every check but "schema-valid data is accepted": the schema cannot say that a rating
    # must be on the dataset's scale or that `years` must parse, so those 422s are right.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
