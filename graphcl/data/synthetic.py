r"""The embedded default dataset: a contextual stochastic block model (CSBM).

Reference: Deshpande et al., "Contextual Stochastic Block Models", NeurIPS 2018.

Nodes are split evenly into ``K`` blocks. An undirected edge joins two nodes of the same block with probability
``p_in`` and of different blocks with probability ``p_out``. Node features are

.. math::
    x_i = \mu_{y_i} + \sigma \varepsilon_i, \qquad \varepsilon_i \sim \mathcal{N}(0, I_d),

with block means :math:`\mu_k` drawn once from :math:`\mathcal{N}(0, I_d)` and scaled to norm ``signal``. The planted
blocks are the ground truth for the linear probe and for clustering.
"""
from __future__ import annotations

import math

import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, to_undirected


def _sample_pairs(count: int, n_rows: int, n_cols: int, gen: torch.Generator) -> torch.Tensor:
    rows = torch.randint(n_rows, (count,), generator=gen)
    cols = torch.randint(n_cols, (count,), generator=gen)
    return torch.stack([rows, cols])


def csbm(num_nodes: int = 1200, num_blocks: int = 4, num_features: int = 64, p_in: float = 0.02,
         p_out: float = 0.002, signal: float = 1.5, noise: float = 1.0, seed: int = 0) -> Data:
    """Sample a CSBM graph (vectorised; expected edges are drawn as uniform pairs, duplicates merged).

    Args:
        num_nodes: number of nodes :math:`N`.
        num_blocks: number of planted blocks :math:`K` (the labels ``y``).
        num_features: feature dimension :math:`d`.
        p_in, p_out: intra- and inter-block edge probabilities.
        signal: norm of each block mean :math:`\\|\\mu_k\\|`.
        noise: feature noise standard deviation :math:`\\sigma`.
        seed: all randomness comes from ``torch.Generator().manual_seed(seed)``.
    """
    if num_nodes < num_blocks or num_blocks < 1:
        raise ValueError(f"Need num_nodes >= num_blocks >= 1 (got num_nodes={num_nodes}, num_blocks={num_blocks})")
    for name, p in (("p_in", p_in), ("p_out", p_out)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"'{name}' must lie in [0, 1] (got {p})")
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) * num_blocks // num_nodes  # even, contiguous blocks
    y = y[torch.randperm(num_nodes, generator=gen)]
    order = torch.argsort(y, stable=True)  # nodes grouped by block
    sizes = torch.bincount(y, minlength=num_blocks)
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)[:-1]])

    pieces = []
    # Intra-block pairs: Binomial count per block, then uniform pairs inside the block.
    for k in range(num_blocks):  # loop over blocks (K is small), never over nodes or edges
        n_k = int(sizes[k])
        count = int(torch.binomial(torch.tensor(float(n_k * (n_k - 1) / 2)), torch.tensor(p_in), generator=gen))
        pairs = _sample_pairs(count, n_k, n_k, gen) + offsets[k]
        pieces.append(order[pairs])
    # Inter-block pairs: uniform pairs over all nodes, keep those that cross blocks.
    n_pairs_total = num_nodes * (num_nodes - 1) / 2
    n_inter = n_pairs_total - float((sizes * (sizes - 1) / 2).sum())
    count = int(torch.binomial(torch.tensor(n_inter), torch.tensor(p_out), generator=gen))
    oversample = _sample_pairs(int(math.ceil(count * n_pairs_total / max(n_inter, 1.0) * 1.2)) + 16,
                               num_nodes, num_nodes, gen)
    cross = oversample[:, y[oversample[0]] != y[oversample[1]]][:, :count]
    pieces.append(cross)

    edge_index = torch.cat(pieces, dim=1)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    edge_index = coalesce(to_undirected(edge_index, num_nodes=num_nodes), num_nodes=num_nodes)

    means = torch.randn(num_blocks, num_features, generator=gen)
    means = means / means.norm(dim=1, keepdim=True) * signal
    x = means[y] + noise * torch.randn(num_nodes, num_features, generator=gen)
    return Data(x=x, edge_index=edge_index, y=y, num_nodes=num_nodes)
