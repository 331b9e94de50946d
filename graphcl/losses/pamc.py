r"""PamC: the proxy-approximated meta-node contrastive loss, its sparse influence graph, and the dense
influence-augmented contrastive loss it approximates.

`"Efficient block contrastive learning via parameter-free meta-node approximation"
<https://arxiv.org/abs/2209.14067>`_ (Kulatilleke, Portmann, Chandra; code: github gayanku/PAMC, built on SCGC).

The dense loss (Graph-MLP's ``Ncontrast``, SCGC's influence-augmented contrastive loss) contrasts every node with
every other node, :math:`O(N^2 d)` time and :math:`O(N^2)` memory. PamC keeps the positives on the sparse
(influence-augmented) neighbourhood and replaces the :math:`N^2` negatives by the :math:`K^2` pairs of meta-nodes
:math:`C = H^\top Z`: :math:`O(|E'| d + N K d + K^2 d)` time, :math:`O(|E'| + N d)` memory.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from graphcl.kernels import aggregate, index_to_rowptr, segment_sum

__all__ = ["MODES", "pamc_graph", "meta_nodes", "edge_cosine", "pamc_loss", "PamCLoss",
           "influence_contrastive_loss", "InfluenceContrastiveLoss"]

#: Valid meta-node modes: ``"hard"`` (argmax one-hot :math:`H`, the authors' code) and ``"soft"`` (the learnt soft
#: assignment :math:`Q`, as the paper states; differentiable through :math:`Q`).
MODES = ("hard", "soft")

_EPS = 1e-10  # the reference adds 1e-10 inside both logarithms
_DEFAULT_CHUNK = 1 << 16  # edges per block of the blocked-gather fallback of edge_cosine
_NORM_EPS = 1e-12  # F.normalize's default: rows are divided by max(||z_i||, eps)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"Expected 'mode' to be one of {MODES} (got {mode!r})")


def _check_tau(tau: float) -> None:
    if not tau > 0:
        raise ValueError(f"Expected 'tau' to be > 0 (got {tau})")


def _check_z(z: Tensor) -> None:
    if not isinstance(z, Tensor):
        raise TypeError(f"Expected 'z' to be a tensor (got {type(z).__name__})")
    if z.dim() != 2 or not z.dtype.is_floating_point:
        raise ValueError(f"Expected 'z' to be a floating-point tensor of shape [N, d] (got {tuple(z.shape)}, "
                         f"{z.dtype})")


def _check_edges(edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int) -> None:
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"Expected 'edge_index' of shape [2, E] (got "
                         f"{tuple(edge_index.shape) if isinstance(edge_index, Tensor) else edge_index!r})")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"'edge_index' holds node ids outside [0, {num_nodes - 1}]")
    if edge_weight is not None and (edge_weight.dim() != 1 or edge_weight.numel() != edge_index.size(1)):
        raise ValueError(f"Expected 'edge_weight' of shape [{edge_index.size(1)}] (got {tuple(edge_weight.shape)})")


def pamc_graph(edge_index: Tensor, num_nodes: int, order: int = 1, influence: bool = True,
               edge_weight: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    r"""The positive graph of PamC (and of SCGC's influence-augmented contrastive loss), kept sparse.

    The graph is symmetrised (:math:`A \leftarrow \max(A, A^\top)`), self-loops are added and rows normalised,
    :math:`\hat{A} = D^{-1}(A + I)` (as the authors' ``load_graph``); then

    .. math::
        W = \sum_{r=1}^{R} \hat{A}^r \quad (\text{``influence``}), \qquad W = \hat{A}^R \quad (\text{otherwise})

    with sparse products (:math:`R` = ``order``). :math:`W` has the nonzeros of the :math:`R`-hop
    neighbourhood; it stays sparse, but grows quickly with :math:`R` on dense graphs.

    Args:
        edge_index (Tensor): graph edges :math:`(2, E)`; either direction or both.
        num_nodes (int): :math:`N`.
        order (int, optional): :math:`R \ge 1`. (default: :obj:`1`)
        influence (bool, optional): sum the powers :math:`1..R` (SCGC's ``--influence``) instead of taking only
            the :math:`R`-th. (default: :obj:`True`)
        edge_weight (Tensor, optional): weights of ``edge_index`` (default: all ones). (default: :obj:`None`)

    Returns:
        ``(edge_index, edge_weight)`` of :math:`W`, coalesced (sorted by source row).

    Example:
        >>> ei, w = pamc_graph(torch.tensor([[0, 1], [1, 2]]), 3)
        >>> ei.tolist(), [round(v, 3) for v in w.tolist()]
        ([[0, 0, 1, 1, 1, 2, 2], [0, 1, 0, 1, 2, 1, 2]], [0.5, 0.5, 0.333, 0.333, 0.333, 0.5, 0.5])
    """
    num_nodes = int(num_nodes)
    if int(order) != order or order < 1:
        raise ValueError(f"Expected 'order' to be a positive integer (got {order!r})")
    _check_edges(edge_index, edge_weight, num_nodes)
    device = edge_index.device
    w = torch.ones(edge_index.size(1), device=device) if edge_weight is None else edge_weight.float()
    keep = edge_index[0] != edge_index[1]
    ei, w = edge_index[:, keep], w[keep]
    loops = torch.arange(num_nodes, device=device)
    # A <- max(A, A^T), then + I, coalesced with max so duplicate/both-direction entries are not doubled
    ei = torch.cat([ei, ei.flip(0), torch.stack([loops, loops])], dim=1)
    w = torch.cat([w, w, torch.ones(num_nodes, device=device)])
    key = ei[0] * num_nodes + ei[1]
    uniq, inv = torch.unique(key, return_inverse=True)
    wu = torch.zeros(uniq.numel(), device=device).scatter_reduce(0, inv, w, reduce="amax", include_self=False)
    ei = torch.stack([uniq // num_nodes, uniq % num_nodes])
    deg = torch.zeros(num_nodes, device=device).index_add_(0, ei[0], wu)
    wu = wu / deg[ei[0]]
    a_hat = torch.sparse_coo_tensor(ei, wu, (num_nodes, num_nodes), check_invariants=False).coalesce()
    power, total = a_hat, a_hat
    for _ in range(int(order) - 1):  # loop over powers (R is small)
        power = torch.sparse.mm(power, a_hat).coalesce()
        total = (total + power).coalesce() if influence else power
    total = total.coalesce()
    return total.indices(), total.values()


def meta_nodes(z: Tensor, assignment: Tensor, num_clusters: Optional[int] = None, mode: str = "hard") -> Tensor:
    r"""Meta-node sums :math:`C = H^\top Z` (additive cluster sums), never an :math:`N \times K \times d` tensor.

    ``"hard"``: :math:`H` is the one-hot of the labels (or of the row-wise argmax of a soft assignment); the sum
    runs through :func:`graphcl.kernels.segment_sum`, gradients flow to :math:`Z` only. ``"soft"``: :math:`H = Q`,
    the :math:`(N, K)` soft assignment, and :math:`C = Q^\top Z` is one matrix product, differentiable in both.

    Args:
        z (Tensor): embeddings :math:`(N, d)`.
        assignment (Tensor): ``"hard"``: integer labels :math:`(N,)` in :math:`[0, K)` or a float :math:`(N, K)`
            matrix whose argmax is taken (no gradient); ``"soft"``: float :math:`(N, K)`.
        num_clusters (int, optional): :math:`K`; read from a matrix assignment, required with labels.
            (default: :obj:`None`)
        mode (str, optional): ``"hard"`` or ``"soft"``. (default: :obj:`"hard"`)

    Shapes:
        - **output:** :math:`(K, d)`

    Example:
        >>> meta_nodes(torch.tensor([[1., 0.], [0., 2.], [3., 3.]]), torch.tensor([1, 0, 1]), 2)
        tensor([[0., 2.],
                [4., 3.]])
    """
    _check_z(z)
    _check_mode(mode)
    n = z.size(0)
    if assignment.dim() == 2:
        if assignment.size(0) != n:
            raise ValueError(f"Expected 'assignment' to have {n} rows (got {tuple(assignment.shape)})")
        if num_clusters is not None and int(num_clusters) != assignment.size(1):
            raise ValueError(f"'num_clusters' ({num_clusters}) differs from the assignment's {assignment.size(1)} "
                             f"columns")
        if mode == "soft":
            return assignment.to(z.dtype).t() @ z
        num_clusters = assignment.size(1)
        labels = assignment.detach().argmax(dim=1)
    else:
        if mode == "soft":
            raise ValueError("mode='soft' needs an (N, K) soft assignment matrix, got 1-D labels")
        if num_clusters is None:
            raise ValueError("'num_clusters' is required when 'assignment' holds hard labels")
        if assignment.numel() != n:
            raise ValueError(f"Expected {n} labels (got {assignment.numel()})")
        labels = assignment
    return segment_sum(z, labels.long(), int(num_clusters))


def _csr(rowptr: Tensor, col: Tensor, values: Tensor, n: int) -> Tensor:
    # torch's "CSR support is in beta" warning is filtered once by graphcl.kernels.aggregate
    return torch.sparse_csr_tensor(rowptr, col, values, (n, n), check_invariants=False)


class _EdgePattern:
    """CSR form of an edge list and of its transpose, built once per ``edge_index`` tensor (cached).

    ``order[k]`` is the input position of the k-th edge in CSR (row-major) order; ``t_perm`` lists the CSR positions
    in (column, row) order, so ``values[t_perm]`` are the values of the transposed matrix in its CSR order.
    """

    def __init__(self, edge_index: Tensor, n: int):
        src, dst = edge_index[0].long(), edge_index[1].long()
        key = src * n + dst
        self.order = torch.argsort(key, stable=True)
        self.sorted = bool((self.order == torch.arange(key.numel(), device=key.device)).all())
        row, col = src[self.order], dst[self.order]
        self.rowptr = index_to_rowptr(row, n)
        self.row = row
        self.col = col
        self.t_perm = torch.argsort(col * n + row, stable=True)
        self.t_rowptr = index_to_rowptr(col, n)
        self.t_col = row[self.t_perm]
        # a symmetric pattern (pamc_graph's always is) has G^T on the same CSR layout: one product for G + G^T
        self.symmetric = bool(torch.equal(self.t_rowptr, self.rowptr) and torch.equal(self.t_col, self.col))
        self.n = n


_PATTERNS: list[tuple[Tensor, int, _EdgePattern]] = []  # small LRU cache, keyed by tensor identity
_PATTERN_CACHE_SIZE = 4


def _pattern(edge_index: Tensor, n: int) -> _EdgePattern:
    for i, (ei, nn_, pat) in enumerate(_PATTERNS):
        if ei is edge_index and nn_ == n:  # identity: the cached tensor is kept alive, so its id is not reused
            _PATTERNS.insert(0, _PATTERNS.pop(i))
            return pat
    pat = _EdgePattern(edge_index, n)
    _PATTERNS.insert(0, (edge_index, n, pat))
    del _PATTERNS[_PATTERN_CACHE_SIZE:]
    return pat


class _EdgeCosine(torch.autograd.Function):
    r"""Cosine similarities at the edges, :math:`c_e = \langle z_i, z_j \rangle\, n_i n_j` with
    :math:`n_i = 1 / \max(\|z_i\|, \epsilon)` (``F.normalize``'s definition), without normalising :math:`Z`.

    The dot products are a sampled dense-dense product (SDDMM) on the CSR pattern; the backward is

    .. math::
        \nabla z_i = \sum_e g_e n_i n_j z_j \;(\text{both directions}) - z_i\, n_i^2 [\|z_i\| > \epsilon]
        \sum_{e \ni i} g_e c_e,

    one sparse-dense product :math:`(G' + G'^\top) Z` plus per-node scalars. Nothing of size :math:`(E, d)` is
    materialised and no normalised copy of :math:`Z` is made."""

    @staticmethod
    def forward(ctx, z: Tensor, pattern: _EdgePattern, eps: float) -> Tensor:
        n = pattern.n
        norm = torch.linalg.vector_norm(z, dim=1)
        inv = norm.clamp_min(eps).reciprocal()
        empty = _csr(pattern.rowptr, pattern.col, torch.zeros(pattern.col.numel(), dtype=z.dtype, device=z.device), n)
        scale = inv.index_select(0, pattern.row) * inv.index_select(0, pattern.col)
        cos = torch.sparse.sampled_addmm(empty, z, z.t(), beta=0.0).values() * scale  # CSR order
        ctx.save_for_backward(z, inv, scale, cos, norm > eps)
        ctx.pattern = pattern
        if pattern.sorted:
            return cos
        return torch.empty_like(cos).index_copy_(0, pattern.order, cos)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        z, inv, scale, cos, active = ctx.saved_tensors
        pat = ctx.pattern
        g = grad.contiguous() if pat.sorted else grad.index_select(0, pat.order)
        w = g * scale
        w_t = w.index_select(0, pat.t_perm)  # values of G'^T in its CSR order
        if pat.symmetric:
            out = _csr(pat.rowptr, pat.col, w + w_t, pat.n) @ z
        else:
            out = _csr(pat.rowptr, pat.col, w, pat.n) @ z + _csr(pat.t_rowptr, pat.t_col, w_t, pat.n) @ z
        gc = g * cos
        r = torch.zeros(pat.n, dtype=z.dtype, device=z.device).index_add_(0, pat.row, gc).index_add_(0, pat.col, gc)
        r = r * inv * inv * active.to(z.dtype)
        return out.sub_(z * r.unsqueeze(1)), None, None


class _EdgeDotChunked(torch.autograd.Function):
    """Fallback for dtypes the sparse kernels lack (fp16/bf16 on CPU): gathers in blocks of edges."""

    @staticmethod
    def forward(ctx, h: Tensor, src: Tensor, dst: Tensor, chunk: int) -> Tensor:
        out = torch.empty(src.numel(), dtype=h.dtype, device=h.device)
        for start in range(0, src.numel(), chunk):  # loop over edge blocks, not edges
            s = slice(start, start + chunk)
            out[s] = (h.index_select(0, src[s]) * h.index_select(0, dst[s])).sum(dim=1)
        ctx.save_for_backward(h, src, dst)
        ctx.chunk = chunk
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        h, src, dst = ctx.saved_tensors
        out = torch.zeros_like(h)
        for start in range(0, src.numel(), ctx.chunk):
            s = slice(start, start + ctx.chunk)
            g = grad[s].unsqueeze(1)
            out.index_add_(0, src[s], g * h.index_select(0, dst[s]))
            out.index_add_(0, dst[s], g * h.index_select(0, src[s]))
        return out, None, None, None


def edge_cosine(z: Tensor, edge_index: Tensor, chunk_size: Optional[int] = None) -> Tensor:
    r"""Cosine similarity :math:`\cos(z_i, z_j)` at every edge :math:`(i, j)`, memory :math:`O(E + N d)`.

    The edge dot products are a sampled dense-dense product on the CSR pattern of ``edge_index`` (built once per
    ``edge_index`` tensor and cached), scaled by the inverse row norms (``F.normalize``'s
    :math:`1/\max(\|z_i\|, 10^{-12})`); their gradient is one sparse-dense product plus per-node scalars, so no
    :math:`(E, d)` tensor and no normalised copy of :math:`Z` exist. With ``chunk_size`` (or for dtypes other than
    fp32/fp64) the products are instead gathered in blocks of ``chunk_size`` edges.

    Args:
        z (Tensor): :math:`(N, d)`.
        edge_index (Tensor): :math:`(2, E)`.
        chunk_size (int, optional): use the blocked-gather path with this many edges per block.
            (default: :obj:`None`)

    Shapes:
        - **output:** :math:`(E,)`
    """
    if chunk_size is not None and int(chunk_size) < 1:
        raise ValueError(f"Expected 'chunk_size' >= 1 (got {chunk_size})")
    if chunk_size is None and z.dtype in (torch.float32, torch.float64):
        return _EdgeCosine.apply(z, _pattern(edge_index, z.size(0)), _NORM_EPS)
    h = F.normalize(z, dim=1, eps=_NORM_EPS)
    chunk = int(chunk_size or _DEFAULT_CHUNK)
    return _EdgeDotChunked.apply(h, edge_index[0].long(), edge_index[1].long(), chunk)


def pamc_loss(z: Tensor, edge_index: Tensor, assignment: Tensor, edge_weight: Optional[Tensor] = None,
              num_clusters: Optional[int] = None, tau: float = 1.0, mode: str = "hard",
              chunk_size: Optional[int] = None) -> Tensor:
    r"""The PamC loss (`Kulatilleke et al. <https://arxiv.org/abs/2209.14067>`_), tau multiplying the similarity.

    .. math::
        \mathrm{pos}_i = \sum_{j \in \mathcal{N}'(i)} w_{ij}\, e^{\tau \cos(z_i, z_j)}, \qquad
        \mathrm{neg}_k = \sum_{k'} e^{\tau \cos(c_k, c_{k'})}, \qquad C = H^\top Z

        \mathcal{L}_{PamC} = -\frac{1}{N}\sum_i \log \mathrm{pos}_i + \frac{1}{K}\sum_k \log \mathrm{neg}_k

    As in the authors' code, self-similarities are masked to 0: the self-loop :math:`(i, i)` contributes
    :math:`w_{ii} e^{0} = w_{ii}` to :math:`\mathrm{pos}_i` and :math:`k' = k` contributes :math:`e^0 = 1` to
    :math:`\mathrm{neg}_k`; :math:`10^{-10}` is added inside both logarithms. An empty cluster (``"hard"`` mode) has
    the zero meta-node, taken to have cosine 0 with every other (the reference's formula gives NaN there); it stays
    in the mean over :math:`k`, so merging clusters is never rewarded by a smaller :math:`K`.

    Args:
        z (Tensor): embeddings :math:`(N, d)`.
        edge_index (Tensor): positive pairs :math:`(2, E')`, e.g. from :func:`pamc_graph`; ``pos_i`` sums over
            edges whose source is :math:`i`.
        assignment (Tensor): hard labels :math:`(N,)` or a soft assignment :math:`(N, K)` (see
            :func:`meta_nodes`).
        edge_weight (Tensor, optional): :math:`w_{ij}`, shape :math:`(E',)` (default: ones). (default: :obj:`None`)
        num_clusters (int, optional): :math:`K` (required with hard labels). (default: :obj:`None`)
        tau (float, optional): :math:`\tau > 0`, multiplies the cosine. (default: :obj:`1.0`)
        mode (str, optional): ``"hard"`` (argmax one-hot) or ``"soft"`` (:math:`Q`). (default: :obj:`"hard"`)
        chunk_size (int, optional): blocked-gather path of :func:`edge_cosine` with this many edges per block
            (default: the sparse SDDMM path). (default: :obj:`None`)

    Shapes:
        - **input:** :math:`(N, d)`, :math:`(2, E')`, :math:`(N,)` or :math:`(N, K)`
        - **output:** scalar

    Example:
        >>> z = torch.tensor([[1., 0.], [0., 1.]])
        >>> ei = torch.tensor([[0, 1], [0, 1]])  # self-loops only: pos_i = 1
        >>> round(pamc_loss(z, ei, torch.tensor([0, 1]), num_clusters=2).item(), 4)  # log(e^0 + e^0)
        0.6931
    """
    _check_z(z)
    _check_mode(mode)
    _check_tau(tau)
    n = z.size(0)
    _check_edges(edge_index, edge_weight, n)
    src, dst = edge_index[0].long(), edge_index[1].long()
    # positives over the sparse neighbourhood, self pairs masked to cos = 0 (as the reference)
    cos = edge_cosine(z, edge_index, chunk_size)
    cos = cos.masked_fill(src == dst, 0.0)
    sim = torch.exp(tau * cos)
    if edge_weight is not None:
        sim = sim * edge_weight.to(sim.dtype)
    pos = aggregate(sim.unsqueeze(1), src, n).squeeze(1)
    pos_term = -torch.log(pos + _EPS).mean()
    # negatives between meta-nodes
    c = meta_nodes(z, assignment, num_clusters, mode)
    cn = F.normalize(c, dim=1)  # an empty cluster's meta-node is 0: cosine 0 with every other one
    s = (cn @ cn.t()).masked_fill(torch.eye(cn.size(0), dtype=torch.bool, device=cn.device), 0.0)
    neg_term = torch.log(torch.exp(tau * s).sum(dim=1) + _EPS).mean()
    return pos_term + neg_term


class PamCLoss(nn.Module):
    r"""Module form of :func:`pamc_loss`, the proxy-approximated meta-node contrastive loss
    (`"Efficient block contrastive learning via parameter-free meta-node approximation"
    <https://arxiv.org/abs/2209.14067>`_).

    .. math::
        \mathcal{L}_{PamC} = -\frac{1}{N}\sum_i \log \sum_{j \in \mathcal{N}'(i)} w_{ij} e^{\tau \cos(z_i, z_j)}
        + \frac{1}{K}\sum_k \log \sum_{k'} e^{\tau \cos(c_k, c_{k'})}, \qquad C = H^\top Z

    Args:
        tau (float, optional): :math:`\tau > 0` (multiplies the cosine). (default: :obj:`1.0`)
        mode (str, optional): meta-node assignment, ``"hard"`` (argmax one-hot, the authors' code) or ``"soft"``
            (the learnt :math:`Q`, the paper's statement). (default: :obj:`"hard"`)
        chunk_size (int, optional): see :func:`edge_cosine`. (default: :obj:`None`)

    Shapes:
        - **input:** ``z`` :math:`(N, d)`, ``edge_index`` :math:`(2, E')`, ``assignment`` :math:`(N,)` or
          :math:`(N, K)`, optional ``edge_weight`` :math:`(E',)`
        - **output:** scalar

    Example:
        >>> loss = PamCLoss(tau=0.5, mode="soft")
        >>> z, q = torch.randn(4, 3), torch.softmax(torch.randn(4, 2), dim=1)
        >>> ei, w = pamc_graph(torch.tensor([[0, 1, 2], [1, 2, 3]]), 4)
        >>> loss(z, ei, q, w).shape
        torch.Size([])
    """

    def __init__(self, tau: float = 1.0, mode: str = "hard", chunk_size: Optional[int] = None):
        super().__init__()
        _check_tau(tau)
        _check_mode(mode)
        self.tau = float(tau)
        self.mode = mode
        self.chunk_size = chunk_size

    def forward(self, z: Tensor, edge_index: Tensor, assignment: Tensor, edge_weight: Optional[Tensor] = None,
                num_clusters: Optional[int] = None) -> Tensor:
        return pamc_loss(z, edge_index, assignment, edge_weight, num_clusters, self.tau, self.mode, self.chunk_size)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, mode={self.mode!r}"


def influence_contrastive_loss(z: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None,
                               tau: float = 1.0) -> Tensor:
    r"""The dense influence-augmented contrastive loss that PamC approximates (Graph-MLP's ``Ncontrast``, SCGC*):

    .. math::
        \mathcal{L} = -\frac{1}{N}\sum_i \log
        \frac{\sum_j w_{ij}\, e^{\tau \cos(z_i, z_j)}}{\sum_j e^{\tau \cos(z_i, z_j)}}

    with self-similarities masked to 0 (as in Graph-MLP) and :math:`10^{-8}` added inside the logarithm. It
    builds the full :math:`N \times N` similarity: :math:`O(N^2 d)` time and :math:`O(N^2)` memory.

    Args:
        z (Tensor): :math:`(N, d)`.
        edge_index (Tensor): positive pairs :math:`(2, E')` (e.g. from :func:`pamc_graph`).
        edge_weight (Tensor, optional): :math:`w_{ij}` (default: ones). (default: :obj:`None`)
        tau (float, optional): :math:`\tau > 0`. (default: :obj:`1.0`)

    Shapes:
        - **output:** scalar
    """
    _check_z(z)
    _check_tau(tau)
    n = z.size(0)
    _check_edges(edge_index, edge_weight, n)
    h = F.normalize(z, dim=1)
    sim = torch.exp(tau * (h @ h.t()).fill_diagonal_(0.0))
    src, dst = edge_index[0].long(), edge_index[1].long()
    w = sim[src, dst]
    if edge_weight is not None:
        w = w * edge_weight.to(w.dtype)
    pos = torch.zeros(n, dtype=sim.dtype, device=sim.device).index_add(0, src, w)
    return -torch.log(pos / sim.sum(dim=1) + 1e-8).mean()


class InfluenceContrastiveLoss(nn.Module):
    r"""Module form of :func:`influence_contrastive_loss`, the dense :math:`N \times N` contrastive loss of
    `Graph-MLP <https://arxiv.org/abs/2106.04051>`_ / SCGC on the influence-augmented graph.

    .. math::
        \mathcal{L} = -\frac{1}{N}\sum_i \log
        \frac{\sum_j w_{ij}\, e^{\tau \cos(z_i, z_j)}}{\sum_j e^{\tau \cos(z_i, z_j)}}

    Args:
        tau (float, optional): :math:`\tau > 0`. (default: :obj:`1.0`)

    Shapes:
        - **input:** ``z`` :math:`(N, d)`, ``edge_index`` :math:`(2, E')`, optional ``edge_weight``
        - **output:** scalar
    """

    def __init__(self, tau: float = 1.0):
        super().__init__()
        _check_tau(tau)
        self.tau = float(tau)

    def forward(self, z: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        return influence_contrastive_loss(z, edge_index, edge_weight, self.tau)

    def extra_repr(self) -> str:
        return f"tau={self.tau}"
