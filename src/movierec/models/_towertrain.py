"""The PyTorch half of the two-tower model: build the towers, train them, hand back arrays.

Imported only while training (``import torch`` costs about a second), so loading and serving a
trained two-tower model never needs PyTorch. Determinism: the weights are initialised and the
minibatches shuffled from the config's seed inside a forked RNG (the caller's global torch RNG
is left as it was), and the thread count is set for the duration of training only. Training
runs on ``config.device`` (a CUDA GPU when asked); the random draws stay on the CPU generator,
so the minibatches are the same on either device.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from movierec.errors import InvalidValueError

logger = logging.getLogger(__name__)


def _tower(n_inputs: int, widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, width in enumerate(widths):
        layers.append(nn.Linear(n_inputs if i == 0 else widths[i - 1], width))
        if i < len(widths) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Towers(nn.Module):
    """Two MLPs whose L2-normalised outputs meet in a dot product."""

    def __init__(self, n_user_inputs: int, n_movie_inputs: int, widths: list[int]):
        super().__init__()
        self.user = _tower(n_user_inputs, widths)
        self.movie = _tower(n_movie_inputs, widths)

    def forward(self, user_x: torch.Tensor, movie_x: torch.Tensor) -> torch.Tensor:
        u = nn.functional.normalize(self.user(user_x), dim=1)
        m = nn.functional.normalize(self.movie(movie_x), dim=1)
        return (u * m).sum(dim=1)


def train_towers(
    user_x: torch.Tensor,
    movie_x: torch.Tensor,
    fit: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    held: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
    blanks: list[tuple[torch.Tensor, torch.Tensor]],
    config: Any,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Minibatch Adam on MSE; early stopping on ``held`` keeps the best epoch's weights.

    Args:
        user_x, movie_x: scaled tower inputs, one row per user / movie index.
        fit: (user index, movie index, target in [-1, 1]) of the training ratings.
        held: the same for the validation ratings, or None (train every epoch).
        blanks: (columns, scaled values) of a movie without metadata and of one without
            ratings; each training example shows the movie so blanked with probability
            ``config.feature_dropout``, each blank drawn independently.
        config: a :class:`~movierec.models.twotower.TwoTowerConfig`.

    Returns:
        ``{"user_w0": in×out, "user_b0": out, …, "movie_w…", "movie_b…"}`` as float32
        arrays, and the epoch log (train MSE, validation MSE or NaN, seconds) per epoch.
    """
    device = training_device(config.device)
    user_x, movie_x = user_x.to(device), movie_x.to(device)
    users, movies, target = (t.to(device) for t in fit)
    if held is not None:
        held = (held[0].to(device), held[1].to(device), held[2].to(device))
    blanks = [(c.to(device), v.to(device)) for c, v in blanks]
    with _deterministic(config):
        model = Towers(user_x.shape[1], movie_x.shape[1], config.widths).to(device)
        optimiser = torch.optim.Adam(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        shuffle = torch.Generator().manual_seed(config.seed)
        best, best_loss, stale, log = None, float("inf"), 0, []
        for epoch in range(config.epochs):
            started = time.perf_counter()
            model.train()
            order = torch.randperm(len(target), generator=shuffle).to(device)
            total = 0.0
            for start in range(0, len(order), config.batch_size):
                batch = order[start : start + config.batch_size]
                movie_batch = movie_x[movies[batch]]
                if config.feature_dropout > 0:
                    movie_batch = _drop(movie_batch, blanks, config.feature_dropout, shuffle)
                predicted = model(user_x[users[batch]], movie_batch)
                loss = nn.functional.mse_loss(predicted, target[batch])
                if config.negatives:
                    loss = loss + config.negative_weight * _negative_loss(
                        model, user_x, movie_x, users[batch], config.negatives, shuffle
                    )
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += loss.item() * len(batch)
            train_loss = total / max(len(order), 1)
            held_loss = _mse(model, user_x, movie_x, held) if held is not None else float("nan")
            log.append((train_loss, held_loss, time.perf_counter() - started))
            logger.info(
                "two-tower epoch %d: train MSE %.4f, validation MSE %.4f (%.2f s)",
                epoch + 1,
                train_loss,
                held_loss,
                log[-1][2],
            )
            watched = held_loss if held is not None else train_loss
            if watched < best_loss - 1e-5:
                best_loss, stale = watched, 0
                best = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                if held is not None and stale >= config.patience:
                    break
        if best is not None:
            model.load_state_dict(best)
        return _arrays(model), np.array(log, dtype=np.float64).reshape(-1, 3)


def training_device(name: str) -> torch.device:
    """The device to train on; a clear error when it is a GPU this machine does not have."""
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidValueError(
                "device",
                name,
                "cpu: no CUDA device here (torch.cuda.is_available() is False; a CPU build of "
                f"PyTorch {torch.__version__} or no GPU driver)",
            )
        if (device.index or 0) >= torch.cuda.device_count():
            raise InvalidValueError(
                "device", name, f"cpu or cuda:0 … cuda:{torch.cuda.device_count() - 1}"
            )
    return device


@contextlib.contextmanager
def _deterministic(config: Any) -> Iterator[None]:
    """Training's own RNG, seeded from ``config.seed`` and forked from the caller's global one,
    and ``config.threads`` intra-op threads (0: PyTorch's), both restored on the way out."""
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            yield
    finally:
        torch.set_num_threads(threads)


def _negative_loss(
    model: Towers,
    user_x: torch.Tensor,
    movie_x: torch.Tensor,
    users: torch.Tensor,
    per_rating: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """MSE of uniformly drawn movies for the batch's users against the bottom of the scale."""
    users = users.repeat(per_rating)
    movies = torch.randint(len(movie_x), (len(users),), generator=generator).to(users.device)
    predicted = model(user_x[users], movie_x[movies])
    return nn.functional.mse_loss(predicted, torch.full_like(predicted, -1.0))


def _drop(
    rows: torch.Tensor,
    blanks: list[tuple[torch.Tensor, torch.Tensor]],
    chance: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """A copy of the rows where a random share shows each blank (DropoutNet)."""
    rows = rows.clone()
    for columns, values in blanks:
        hit = (torch.rand(len(rows), generator=generator) < chance).to(rows.device)
        if hit.any():
            block = rows[hit]
            block[:, columns] = values
            rows[hit] = block
    return rows


@torch.no_grad()
def _mse(
    model: Towers,
    user_x: torch.Tensor,
    movie_x: torch.Tensor,
    part: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> float:
    model.eval()
    users, movies, target = part
    total = 0.0
    for start in range(0, len(target), 65536):
        stop = start + 65536
        predicted = model(user_x[users[start:stop]], movie_x[movies[start:stop]])
        total += float(((predicted - target[start:stop]) ** 2).sum())
    return total / max(len(target), 1)


def _arrays(model: Towers) -> dict[str, np.ndarray]:
    arrays = {}
    for side, tower in (("user", model.user), ("movie", model.movie)):
        linear = [layer for layer in tower if isinstance(layer, nn.Linear)]
        for i, layer in enumerate(linear):
            weight = layer.weight.detach().cpu().numpy().T
            arrays[f"{side}_w{i}"] = np.ascontiguousarray(weight, dtype=np.float32)
            arrays[f"{side}_b{i}"] = layer.bias.detach().cpu().numpy().astype(np.float32)
    return arrays


def holdout(matrix: sp.csr_matrix, share: float, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Split the ratings into a fitting part and a validation part (``share`` of them)."""
    coo = matrix.tocoo()
    n_held = int(round(share * coo.nnz)) if coo.nnz >= 20 else 0
    held = np.zeros(coo.nnz, bool)
    held[np.random.default_rng(seed).permutation(coo.nnz)[:n_held]] = True

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((coo.data[mask], (coo.row[mask], coo.col[mask])), shape=matrix.shape)

    return part(~held), part(held)


def train_on_ratings(
    user_x: np.ndarray,
    movie_x: np.ndarray,
    fit_part: sp.csr_matrix,
    held: sp.csr_matrix,
    bounds: tuple[float, float],
    blanks: list[tuple[np.ndarray, np.ndarray]],
    config: Any,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """:func:`train_towers` on rating matrices: the ratings mapped onto [-1, 1] by the scale's
    ``bounds``, inputs and blanks as tensors; returns the weights as arrays and the epoch log."""
    low, high = bounds

    def triples(part: sp.csr_matrix) -> tuple[Any, Any, Any]:
        coo = part.tocoo()
        target = (coo.data.astype(np.float32) - (low + high) / 2) / ((high - low) / 2)
        return (
            torch.from_numpy(coo.row.astype(np.int64)),
            torch.from_numpy(coo.col.astype(np.int64)),
            torch.from_numpy(target),
        )

    started = time.perf_counter()
    weights, log = train_towers(
        torch.from_numpy(user_x),
        torch.from_numpy(movie_x),
        triples(fit_part),
        triples(held) if held.nnz else None,
        [(torch.from_numpy(c), torch.from_numpy(v)) for c, v in blanks],
        config,
    )
    logger.info("two-tower trained in %.1f s", time.perf_counter() - started)
    return weights, log
