"""Models named by a request: which may be fitted there, and one fit at a time.

A request may name a model (``?model=``) that is neither in memory nor stored. Fitting it
inside the request is allowed only on datasets of at most :data:`FIT_ON_REQUEST_RATINGS`
ratings (ml-100k: mf fits in about 0.1 s, ials and als in well under a second, the hybrid in
about a minute; ml-1m in seconds to minutes); a larger dataset without a stored version
raises :class:`~movierec.errors.ModelNotTrainedError` (409 in the service) naming the
`movierec train` command to run first, rather than holding a request for an hour. One lock
serialises those loads and fits, so concurrent first requests fit once.
"""

from __future__ import annotations

import threading

from movierec.engine.hub import ModelHub
from movierec.errors import ModelNotTrainedError
from movierec.models.base import Recommender

#: the largest dataset (in ratings) on which a model is fitted inside a request
FIT_ON_REQUEST_RATINGS = 1_100_000

_LOCK = threading.Lock()


def model_for_request(hub: ModelHub, name: str) -> Recommender:
    """The hub's model, refusing to fit one inside a request on a large dataset."""
    if hub.in_memory(name):
        return hub.model(name)
    with _LOCK:
        ratings = len(hub.dataset.ratings)
        if (
            not hub.is_stored(name)
            and ratings > FIT_ON_REQUEST_RATINGS
            and name != hub.serving_model()
        ):
            raise ModelNotTrainedError(
                f"model {name!r} is not trained for {hub.dataset.name} "
                f"({ratings:,} ratings is too many to fit it in a request); "
                f"run `movierec train --model {name} --dataset "
                f"{hub.dataset.name} --no-default` first"
            )
        return hub.model(name)
