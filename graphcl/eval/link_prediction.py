"""Link prediction on frozen embeddings: hold out edges before training, score held-out pairs afterwards."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import Tensor
from torch_geometric.data import Data

__all__ = ["EdgeSplit", "split_edges", "link_prediction_scores", "sample_non_edges"]

_SCORES = ("dot", "cosine")


@dataclass
class EdgeSplit:
    """Result of :func:`split_edges`.

    Attributes:
        train_data (Data): the input graph with the validation and test pairs removed in both directions (every
            other attribute, edge attributes included, kept aligned); train the encoder on this.
        val_pos, val_neg, test_pos, test_neg (Tensor): held-out edges and as many sampled non-edges, ``[2, k]``,
            one column per undirected pair (``u < v``).
    """

    train_data: Data
    val_pos: Tensor
    val_neg: Tensor
    test_pos: Tensor
    test_neg: Tensor


def _pair_keys(edge_index: Tensor, n: int) -> Tensor:
    lo = torch.minimum(edge_index[0], edge_index[1])
    hi = torch.maximum(edge_index[0], edge_index[1])
    return lo * n + hi


def sample_non_edges(edge_index: Tensor, num_nodes: int, num: int, generator: torch.Generator) -> Tensor:
    r"""``num`` distinct unordered pairs :math:`u < v` that are not edges of ``edge_index`` (either direction),
    drawn uniformly by vectorised rejection sampling (a few rounds, never a loop over pairs).

    Returns:
        Tensor: ``[2, num]`` with ``row < col``.
    """
    n = num_nodes
    total = n * (n - 1) // 2
    existing = torch.unique(_pair_keys(edge_index, n)[edge_index[0] != edge_index[1]])
    if num > total - existing.numel():
        raise ValueError(f"Expected at most {total - existing.numel()} negative pairs for a graph with {n} nodes "
                         f"and {existing.numel()} edges (got a request for {num})")
    found = torch.empty(0, dtype=torch.long)
    while found.numel() < num:
        need = num - found.numel()
        cand = torch.randint(0, n, (2, 2 * need + 16), generator=generator)
        cand = cand[:, cand[0] != cand[1]]
        keys = _pair_keys(cand, n)
        keys = keys[~torch.isin(keys, existing) & ~torch.isin(keys, found)]
        # unique without sorting away the random order: keep first occurrences
        uniq, inv = torch.unique(keys, return_inverse=True)
        first = torch.full((uniq.numel(),), keys.numel(), dtype=torch.long).scatter_reduce(
            0, inv, torch.arange(keys.numel()), reduce="amin")
        keys = keys[first.sort().values]
        found = torch.cat([found, keys[:need]])
    return torch.stack([found // n, found % n])


def split_edges(data: Data, val_ratio: float = 0.0, test_ratio: float = 0.1, seed: int = 0) -> EdgeSplit:
    r"""Holds out ``val_ratio`` and ``test_ratio`` of the undirected edges (and as many non-edges) for link
    prediction, consistently for both directions: a held-out pair :math:`\{u, v\}` is removed as :math:`(u, v)`
    and :math:`(v, u)` from the training graph. Self-loops are never held out. Vectorised; seeded.

    Args:
        data (Data): an undirected graph (``edge_index`` holding both directions, as PyG's datasets do).
        val_ratio (float, optional): fraction of undirected edges for validation. (default: :obj:`0.0`)
        test_ratio (float, optional): fraction of undirected edges for testing. (default: :obj:`0.1`)
        seed (int, optional): seed of the split and of the negative sampling. (default: :obj:`0`)

    Returns:
        EdgeSplit: the training graph and the held-out positive and negative pairs.

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
        >>> data = Data(edge_index=torch.cat([ring, ring.flip(0)], 1), num_nodes=6)
        >>> s = split_edges(data, test_ratio=0.34)
        >>> s.test_pos.size(1), s.test_neg.size(1), s.train_data.num_edges
        (2, 2, 8)
    """
    for name, v in (("val_ratio", val_ratio), ("test_ratio", test_ratio)):
        if not 0 <= v < 1:
            raise ValueError(f"Expected '{name}' to be in [0, 1) (got {v!r})")
    if val_ratio + test_ratio >= 1:
        raise ValueError(f"Expected 'val_ratio' + 'test_ratio' < 1 (got {val_ratio} + {test_ratio})")
    n = data.num_nodes
    ei = data.edge_index.cpu()
    g = torch.Generator().manual_seed(seed)
    not_loop = ei[0] != ei[1]
    pairs = torch.unique(_pair_keys(ei[:, not_loop], n))
    m = pairs.numel()
    n_val, n_test = int(round(val_ratio * m)), int(round(test_ratio * m))
    perm = pairs[torch.randperm(m, generator=g)]
    val_keys, test_keys = perm[:n_val], perm[n_val:n_val + n_test]
    held = torch.cat([val_keys, test_keys])
    keep = ~torch.isin(_pair_keys(ei, n), held) | ~not_loop
    train = _subset_edges(data, keep.to(data.edge_index.device))
    neg = sample_non_edges(ei, n, n_val + n_test, g)

    def as_index(keys: Tensor) -> Tensor:
        return torch.stack([keys // n, keys % n])

    return EdgeSplit(train, as_index(val_keys), neg[:, :n_val], as_index(test_keys), neg[:, n_val:])


def _subset_edges(data: Data, keep: Tensor) -> Data:
    """A shallow copy of ``data`` with only the edges ``keep`` (edge-level attributes subset alongside)."""
    out = data.__copy__()
    num_edges = data.edge_index.size(1)
    for key, value in data.items():
        if key == "edge_index" or not isinstance(value, Tensor) or value.dim() == 0:
            continue
        if key in ("edge_attr", "edge_weight") or (data.is_edge_attr(key) and value.size(0) == num_edges):
            out[key] = value[keep]
    out.edge_index = data.edge_index[:, keep]
    return out


def link_prediction_scores(embeddings: Tensor, pos_edge_index: Tensor, neg_edge_index: Tensor,
                           score: str = "dot") -> dict[str, float]:
    r"""AUC and average precision of the pair scores :math:`s(u, v) = z_u^\top z_v` (or the cosine) of positive
    against negative pairs (scikit-learn's ``roc_auc_score`` and ``average_precision_score``).

    Args:
        embeddings (Tensor): node embeddings :math:`(N, D)`, computed on the training graph.
        pos_edge_index (Tensor): held-out edges :math:`(2, P)`.
        neg_edge_index (Tensor): non-edges :math:`(2, Q)`.
        score (str, optional): ``'dot'`` or ``'cosine'``. (default: :obj:`'dot'`)

    Returns:
        dict: ``{'auc': float, 'ap': float}``.

    Example:
        >>> import torch
        >>> z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> link_prediction_scores(z, torch.tensor([[0], [1]]), torch.tensor([[0], [2]]))
        {'auc': 1.0, 'ap': 1.0}
    """
    if score not in _SCORES:
        raise ValueError(f"Expected 'score' to be one of {_SCORES} (got {score!r})")
    if pos_edge_index.numel() == 0 or neg_edge_index.numel() == 0:
        raise ValueError(f"Expected non-empty positive and negative pairs (got {pos_edge_index.size(-1)} and "
                         f"{neg_edge_index.size(-1)})")
    z = embeddings.detach().float().cpu()
    if score == "cosine":
        z = torch.nn.functional.normalize(z, dim=-1)
    pairs = torch.cat([pos_edge_index.cpu(), neg_edge_index.cpu()], dim=1)
    s = (z[pairs[0]] * z[pairs[1]]).sum(-1).numpy()
    y = torch.cat([torch.ones(pos_edge_index.size(1)), torch.zeros(neg_edge_index.size(1))]).numpy()
    return {"auc": float(roc_auc_score(y, s)), "ap": float(average_precision_score(y, s))}
