"""Personalised-PageRank graph diffusion (MVGRL, PyGCL's PPRDiffusion), sparse."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor
from torch_geometric.data import Data

from ._utils import check_prob, edge_keys, num_nodes_of, set_edges
from .base import Augmenter

__all__ = ['PPRDiffusion', 'ppr_diffusion']


def ppr_diffusion(edge_index: Tensor, num_nodes: int, edge_weight: Optional[Tensor] = None, alpha: float = 0.2,
                  eps: float = 1e-4, top_k: Optional[int] = None, add_self_loops: bool = True,
                  max_iter: int = 200) -> Tuple[Tensor, Tensor]:
    r"""Sparse personalised-PageRank diffusion matrix

    .. math::
        S = \alpha \big(I - (1 - \alpha) T\big)^{-1} = \alpha \sum_{k \ge 0} (1 - \alpha)^k T^k,\quad
        T = \tilde{D}^{-1/2} \tilde{A} \tilde{D}^{-1/2},\ \tilde{A} = A + I

    summed term by term with sparse products; entries below ``eps`` are pruned from every term (so no dense
    :math:`N \times N` matrix is ever formed; the result is the thresholded :math:`S` up to an error of order
    ``eps`` per entry), and the sum stops when :math:`(1 - \alpha)^k` falls below ``eps``. ``top_k`` then keeps the
    ``k`` largest entries of each row (the result is no longer symmetric).

    Returns:
        (edge_index, edge_weight): the entries :math:`(i, j, S_{ij})` above ``eps`` (symmetric for an undirected
        graph without ``top_k``).
    """
    device = edge_index.device
    row, col = edge_index.cpu().numpy()
    w = np.ones(row.size) if edge_weight is None else edge_weight.detach().cpu().double().numpy()
    a = sp.csr_matrix((w, (row, col)), shape=(num_nodes, num_nodes))
    if add_self_loops:
        a = a + sp.identity(num_nodes, format='csr')
    deg = np.asarray(a.sum(axis=1)).ravel()
    dinv = np.where(deg > 0, deg ** -0.5, 0.0)
    t = (sp.diags(dinv) @ a @ sp.diags(dinv)).tocsr() * (1 - alpha)
    term = sp.identity(num_nodes, format='csr') * alpha
    out = term.copy()
    for k in range(1, max_iter + 1):
        term = (t @ term).tocsr()
        term.data[term.data < eps] = 0
        term.eliminate_zeros()
        if term.nnz == 0:
            break
        out = out + term
        if alpha * (1 - alpha) ** k < eps:
            break
    out = out.tocoo()
    keep = out.data >= eps
    r, c, v = out.row[keep], out.col[keep], out.data[keep]
    if top_k is not None:
        order = np.lexsort((-v, r))  # by row, then by decreasing value
        r, c, v = r[order], c[order], v[order]
        starts = np.searchsorted(r, r, side='left')
        sel = (np.arange(r.size) - starts) < top_k
        r, c, v = r[sel], c[sel], v[sel]
    ei = torch.from_numpy(np.stack([r, c]).astype(np.int64)).to(device)
    dtype = edge_weight.dtype if edge_weight is not None and edge_weight.is_floating_point() else torch.float
    return ei, torch.from_numpy(v).to(device=device, dtype=dtype)


class PPRDiffusion(Augmenter):
    r"""Replaces the graph by its personalised-PageRank diffusion, as in `"Contrastive Multi-View Representation
    Learning on Graphs" (MVGRL) <https://arxiv.org/abs/2006.05582>`_ (PyGCL ``PPRDiffusion``):

    .. math::
        S = \alpha \big(I - (1 - \alpha) \tilde{D}^{-1/2} \tilde{A} \tilde{D}^{-1/2}\big)^{-1}

    The new ``edge_weight`` holds the entries of :math:`S`; other edge attributes cannot follow the new edges and
    are removed. Unlike PyGCL (dense inverse, :math:`O(N^2)` memory and :math:`O(N^3)` time) the matrix is built
    sparse by a pruned power series (see :func:`ppr_diffusion`), and thresholded at ``eps`` or cut to the
    ``top_k`` largest entries per row. Deterministic: the result is cached on the transform for the last graph
    seen (same ``edge_index`` tensor, unchanged), so repeated calls on one graph cost nothing.

    Args:
        alpha (float, optional): teleport probability in :math:`(0, 1)`. (default: :obj:`0.2`)
        eps (float, optional): sparsification threshold. (default: :obj:`1e-4`)
        top_k (int, optional): keep the ``top_k`` largest entries per row. (default: :obj:`None`)
        add_self_loops (bool, optional): use :math:`A + I`. (default: :obj:`True`)
        use_cache (bool, optional): cache the last result. (default: :obj:`True`)

    Example:
        >>> import torch
        >>> from torch_geometric.data import Data
        >>> data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
        >>> out = PPRDiffusion(alpha=0.5, eps=1e-6)(data)
        >>> out.edge_index.size(1)
        4
    """

    _repr_keys = ('alpha', 'eps', 'top_k')

    def __init__(self, alpha: float = 0.2, eps: float = 1e-4, top_k: Optional[int] = None,
                 add_self_loops: bool = True, use_cache: bool = True):
        super().__init__(None)
        check_prob('alpha', alpha, low_open=True, high_open=True)
        if not eps > 0:
            raise ValueError(f"Expected 'eps' to be > 0 (got {eps!r})")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"Expected 'top_k' to be None or an int >= 1 (got {top_k!r})")
        self.alpha, self.eps, self.top_k = alpha, eps, top_k
        self.add_self_loops, self.use_cache = add_self_loops, use_cache
        self._cache = None

    def forward(self, data: Data) -> Data:
        ei, ew, n = data.edge_index, data.get('edge_weight'), num_nodes_of(data)
        key = (ei, ei._version, ew, None if ew is None else ew._version, n)
        c = self._cache
        if (self.use_cache and c is not None and c[0][0] is ei and c[0][1:2] == key[1:2] and c[0][2] is ew
                and c[0][3:] == key[3:]):
            new_ei, new_w = c[1]
        else:
            new_ei, new_w = ppr_diffusion(ei, n, ew, self.alpha, self.eps, self.top_k, self.add_self_loops)
            if self.use_cache:
                self._cache = (key, (new_ei, new_w))
        for k in edge_keys(data):
            if k != 'edge_weight':
                del data[k]
        return set_edges(data, new_ei, {'edge_weight': new_w})
