"""The numba half of SGD matrix factorisation: training epochs and a one-row replay.

:func:`sgd` runs every epoch of training in one call, in place on the factors and biases;
:func:`sgd_row` replays those updates on one row with the other side frozen, the default
online fold-in; :func:`sgd_blocks` trains on several threads at once, block by block. The
model, its defaults and why the update order is Surprise's are in :mod:`movierec.models.mf`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _shuffle(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, state: np.uint64
) -> np.uint64:
    """Fisher–Yates on the three triple arrays together; returns the advanced state.

    Shuffling the arrays themselves (not an index into them) lets the SGD loop read them
    sequentially, and shuffling last epoch's order again is still a uniform permutation. The
    random stream is splitmix64, a few lines of our own: about three times faster per swap
    than numba's ``np.random``, and numba's global generator is left alone.
    """
    for t in range(len(ratings) - 1, 0, -1):
        state += np.uint64(0x9E3779B97F4A7C15)
        z = state
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        j = np.int64(z % np.uint64(t + 1))
        users[t], users[j] = users[j], users[t]
        items[t], items[j] = items[j], items[t]
        ratings[t], ratings[j] = ratings[j], ratings[t]
    return state


@njit(cache=True, fastmath=True)
def sgd(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    P: np.ndarray,
    Q: np.ndarray,
    bu: np.ndarray,
    bi: np.ndarray,
    offset: np.ndarray,
    rates: np.ndarray,
    n_epochs: int,
    biased: bool,
    shuffle: bool,
    seed: int,
    bounded: bool,
    top: np.float32,
) -> None:
    """All epochs of SGD in place; ``offset`` is a 1-element array (learned when bounded).

    Per rating, as Surprise: error from the current parameters; then ``b_u``, ``b_i``; then
    ``p_u`` and ``q_i`` together, each step using the other's value from before the step.
    Bounded: the prediction is ``top·σ(z)`` and every step uses the error times ``dσ``.
    The triples are copied once, so the caller's arrays keep their order.
    """
    lr_bu, lr_bi, lr_pu, lr_qi = rates[0], rates[1], rates[2], rates[3]
    reg_bu, reg_bi, reg_pu, reg_qi = rates[4], rates[5], rates[6], rates[7]
    k = P.shape[1]
    state = np.uint64(seed)
    us, its, rs = users.copy(), items.copy(), ratings.copy()
    one = np.float32(1.0)
    for _ in range(n_epochs):
        if shuffle:
            state = _shuffle(us, its, rs, state)
        for t in range(len(rs)):
            u, i = us[t], its[t]
            pu, qi = P[u], Q[i]
            dot = np.float32(0.0)
            for f in range(k):
                dot += pu[f] * qi[f]
            z = offset[0] + bu[u] + bi[i] + dot
            if bounded:
                s = one / (one + np.exp(-z))
                err = (rs[t] - top * s) * top * s * (one - s)
                offset[0] += lr_bu * err
            else:
                err = rs[t] - z
            if biased:
                bu[u] += lr_bu * (err - reg_bu * bu[u])
                bi[i] += lr_bi * (err - reg_bi * bi[i])
            for f in range(k):
                puf = pu[f]
                qif = qi[f]
                pu[f] = puf + lr_pu * (err * qif - reg_pu * puf)
                qi[f] = qif + lr_qi * (err * puf - reg_qi * qif)


@njit(cache=True, fastmath=True)
def sgd_row(
    fixed: np.ndarray,
    fixed_bias: np.ndarray,
    idx: np.ndarray,
    ratings: np.ndarray,
    start: np.ndarray,
    offset: np.float32,
    rates: np.ndarray,
    n_epochs: int,
    biased: bool,
    bounded: bool,
    top: np.float32,
) -> tuple[np.ndarray, np.float32]:
    """:func:`sgd`'s updates of one row only, the other side frozen: a training replay.

    ``rates`` is ``[lr_bias, lr_factors, reg_bias, reg_factors]`` of the row's side. Each
    rating's step is :func:`sgd`'s for that row — error from the current parameters, the
    bias step, then the factor step — with the other side's factors and bias (and the
    offset) held where training left them. Returns the row's factors and bias.
    """
    lr_b, lr_f, reg_b, reg_f = rates[0], rates[1], rates[2], rates[3]
    k = fixed.shape[1]
    x = start.copy()
    b = np.float32(0.0)
    one = np.float32(1.0)
    for _ in range(n_epochs):
        for t in range(len(idx)):
            j = idx[t]
            q = fixed[j]
            dot = np.float32(0.0)
            for f in range(k):
                dot += x[f] * q[f]
            z = offset + b + fixed_bias[j] + dot
            if bounded:
                s = one / (one + np.exp(-z))
                err = (ratings[t] - top * s) * top * s * (one - s)
            else:
                err = ratings[t] - z
            if biased:
                b += lr_b * (err - reg_b * b)
            for f in range(k):
                x[f] += lr_f * (err * q[f] - reg_f * x[f])
    return x, b


@njit(cache=True)
def block_order(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    user_stripe: np.ndarray,
    item_stripe: np.ndarray,
    stripes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The triples grouped by block (user stripe × movie stripe), each block in the order
    given (a counting sort: two passes, no argsort); returns them and the blocks' offsets."""
    counts = np.zeros(stripes * stripes + 1, np.int64)
    for t in range(len(ratings)):
        counts[user_stripe[users[t]] * stripes + item_stripe[items[t]] + 1] += 1
    offsets = np.cumsum(counts)
    fill = offsets[:-1].copy()
    us, its, rs = np.empty_like(users), np.empty_like(items), np.empty_like(ratings)
    for t in range(len(ratings)):
        block = user_stripe[users[t]] * stripes + item_stripe[items[t]]
        at = fill[block]
        us[at], its[at], rs[at] = users[t], items[t], ratings[t]
        fill[block] = at + 1
    return us, its, rs, offsets


@njit(cache=True, fastmath=True, parallel=True)
def sgd_blocks(
    us: np.ndarray,
    its: np.ndarray,
    rs: np.ndarray,
    offsets: np.ndarray,
    stripes: int,
    P: np.ndarray,
    Q: np.ndarray,
    bu: np.ndarray,
    bi: np.ndarray,
    offset: np.float32,
    rates: np.ndarray,
    n_epochs: int,
    biased: bool,
) -> None:
    """:func:`sgd`'s updates (unbounded) on several threads without a lock or a race.

    Users and movies are cut into ``stripes`` stripes each, so the ratings fall in a grid of
    blocks (:func:`block_order`). Blocks on one "diagonal" (user stripe s, movie stripe
    s + shift) share no user and no movie, so each thread updates its own rows of P, Q and
    the biases; an epoch walks every diagonal in turn (Gemulla et al., KDD 2011's DSGD;
    Zhuang et al. 2013's FPSGD). The result does not depend on thread timing.

    The per-rating step is :func:`sgd`'s, written out again: moved into a shared inline
    helper, it made the one-thread kernel 20–30% slower (synthetic 10M: 11.0 → 13–15 s).
    """
    lr_bu, lr_bi, lr_pu, lr_qi = rates[0], rates[1], rates[2], rates[3]
    reg_bu, reg_bi, reg_pu, reg_qi = rates[4], rates[5], rates[6], rates[7]
    k = P.shape[1]
    for _ in range(n_epochs):
        for shift in range(stripes):
            for s in prange(stripes):
                block = s * stripes + (s + shift) % stripes
                for t in range(offsets[block], offsets[block + 1]):
                    u, i = us[t], its[t]
                    pu, qi = P[u], Q[i]
                    dot = np.float32(0.0)
                    for f in range(k):
                        dot += pu[f] * qi[f]
                    err = rs[t] - (offset + bu[u] + bi[i] + dot)
                    if biased:
                        bu[u] += lr_bu * (err - reg_bu * bu[u])
                        bi[i] += lr_bi * (err - reg_bi * bi[i])
                    for f in range(k):
                        puf = pu[f]
                        qif = qi[f]
                        pu[f] = puf + lr_pu * (err * qif - reg_pu * puf)
                        qi[f] = qif + lr_qi * (err * puf - reg_qi * qif)
