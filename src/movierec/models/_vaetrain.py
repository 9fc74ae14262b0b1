"""The PyTorch half of the multinomial VAE: training only; the weights leave as numpy arrays.

The model, its defaults and why are in :mod:`movierec.models.multvae`. Training is seeded
and deterministic on the CPU, with ``threads`` intra-op threads (the two-tower's helpers);
on ``config.device`` a CUDA GPU when asked, the minibatch order still drawn on the CPU.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from movierec.models._towertrain import _deterministic, training_device

logger = logging.getLogger(__name__)


class _VAE(nn.Module):
    def __init__(self, n_items: int, hidden: int, latent: int, dropout: float):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encode = nn.Linear(n_items, hidden)
        self.latent = nn.Linear(hidden, 2 * latent)
        self.decode = nn.Linear(latent, hidden)
        self.out = nn.Linear(hidden, n_items)
        for layer in (self.encode, self.latent, self.decode, self.out):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.normal_(layer.bias, std=0.001)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = torch.tanh(self.encode(self.drop(nn.functional.normalize(x, dim=1))))
        mu, logvar = self.latent(h).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.out(torch.tanh(self.decode(z))), mu, logvar


def train_vae(x: sp.csr_matrix, config: Any) -> dict[str, np.ndarray]:
    """Fit the VAE to the users' feedback rows ``x`` (users × items); its weights as arrays.

    The loss per user is the multinomial log-likelihood of their row under the decoder's
    softmax plus β times the KL term, β annealed linearly from 0 to ``beta`` over training
    (Liang et al. 2018, section 2.2.2), Adam on minibatches of users.
    """
    device = training_device(config.device)
    with _deterministic(config):
        model = _VAE(x.shape[1], config.hidden, config.latent, config.dropout).to(device)
        optimiser = torch.optim.Adam(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        rng = np.random.default_rng(config.seed)
        rows = sp.csr_matrix(x, dtype=np.float32)
        n_users = rows.shape[0]
        batches = max(1, -(-n_users // config.batch_size))
        total, step = config.epochs * batches, 0
        model.train()
        for epoch in range(config.epochs):
            order = rng.permutation(n_users)
            summed = 0.0
            for start in range(0, n_users, config.batch_size):
                chosen = rows[order[start : start + config.batch_size]].toarray()
                batch = torch.from_numpy(chosen).to(device)
                logits, mu, logvar = model(batch)
                likelihood = (nn.functional.log_softmax(logits, dim=1) * batch).sum(1).mean()
                kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()
                beta = config.beta * min(1.0, step / max(1, total))
                loss = -likelihood + beta * kl
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                summed += float(loss.detach())
                step += 1
            if epoch % 50 == 0 or epoch == config.epochs - 1:
                logger.info("multvae: epoch %d, mean loss %.3f", epoch, summed / batches)
        model.eval()
        return {
            name: parameter.detach().cpu().numpy().astype(np.float32).copy()
            for name, parameter in model.state_dict().items()
        }
