"""Recent recommendation answers, kept while nothing they were computed from has changed.

A person reloading their page, or a site showing the same user's picks on every view, asks the
same question again and again; between two ratings the answer cannot change. An answer is
valid for the model object that ranked it and the generation it was computed at (the store's
sequence number synced, the models swapped in): any stored rating (from this process or
another, seen by the engine's sync) or a model swap (a retrain, a newer version adopted)
empties the cache, so an answer is never staler than one computed afresh at the same moment.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from movierec.engine.answers import RecommendAnswer
from movierec.models.base import Recommender

#: what an answer was computed at: (the store's sequence number synced, models swapped in),
#: compared in order (:attr:`~movierec.engine.online.OnlineUpdater.generation`)
Generation = tuple[int, int]
#: answers kept per process by default (a few KB each)
DEFAULT_ENTRIES = 4096


class AnswerCache:
    """A least-recently-used map from a question to its answer, valid for one generation and,
    per model name, one model object."""

    def __init__(self, entries: int = DEFAULT_ENTRIES):
        self.entries = max(int(entries), 0)
        self._answers: OrderedDict[tuple[str, Hashable], RecommendAnswer] = OrderedDict()
        self._models: dict[str, Recommender] = {}  # the object each name's answers came from
        self._generation: Generation = (-1, -1)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(
        self, name: str, model: Recommender, generation: Generation, question: Hashable
    ) -> RecommendAnswer | None:
        """The answer to ``question`` from ``model`` (served as ``name``) at ``generation``, or
        None."""
        if not self.entries:
            return None
        with self._lock:
            self._validate(name, model, generation)
            answer = self._answers.get((name, question))
            if answer is None:
                self.misses += 1
                return None
            self._answers.move_to_end((name, question))
            self.hits += 1
            return answer

    def put(
        self,
        name: str,
        model: Recommender,
        generation: Generation,
        question: Hashable,
        answer: RecommendAnswer,
    ) -> None:
        """Keep an answer computed from ``model`` at ``generation``."""
        if not self.entries:
            return
        with self._lock:
            self._validate(name, model, generation)
            if self._generation != generation or self._models.get(name) is not model:
                return  # computed against a state already replaced: never kept
            self._answers[(name, question)] = answer
            self._answers.move_to_end((name, question))
            while len(self._answers) > self.entries:
                self._answers.popitem(last=False)

    def resize(self, entries: int) -> None:
        """Keep at most ``entries`` answers from now on (0: keep none)."""
        with self._lock:
            self.entries = max(int(entries), 0)
            while len(self._answers) > self.entries:
                self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)

    def counts(self) -> dict[str, int]:
        """Answers kept now, and questions answered from them or not since the start."""
        return {"answers_kept": len(self), "answer_hits": self.hits, "answer_misses": self.misses}

    def _validate(self, name: str, model: Recommender, generation: Generation) -> None:
        """Forget everything when the generation moved on; forget a name's answers when its
        model object changed. An older generation (a slow request) changes nothing."""
        if generation > self._generation:
            self._answers.clear()
            self._models.clear()
            self._generation = generation
        if generation == self._generation and self._models.get(name) is not model:
            for key in [key for key in self._answers if key[0] == name]:
                del self._answers[key]
            self._models[name] = model
