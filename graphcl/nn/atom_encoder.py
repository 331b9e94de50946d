r"""Embeddings of PyG's categorical atom and bond features (:func:`torch_geometric.utils.from_rdmol`)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch_geometric.utils.smiles import e_map, x_map

__all__ = ["AtomEncoder", "BondEncoder"]

# Categories per column of PyG's ``x`` / ``edge_attr``, in the order of ``x_map`` / ``e_map``. Value ``size`` of a
# column is the MASK value (atom masking), so every table has ``size + 1`` rows.
_ATOM_FEATURE_SIZES: Tuple[int, ...] = tuple(len(v) for v in x_map.values())
_BOND_FEATURE_SIZES: Tuple[int, ...] = tuple(len(v) for v in e_map.values())


class _CategoricalEncoder(nn.Module):
    r"""Sum of one embedding per categorical column (OGB's ``AtomEncoder`` / ``BondEncoder``,
    `Hu et al., 2020 <https://arxiv.org/abs/2005.00687>`_).

    .. math::
        \mathbf{h} = \sum_{c \in \text{columns}} \mathbf{E}_c[\mathbf{x}_{c}],
        \qquad \mathbf{E}_c \in \mathbb{R}^{(s_c + 1) \times d}

    Row :math:`s_c` of each table is the MASK token. Tables are Xavier-uniform initialised (OGB).
    """

    def __init__(self, emb_dim: int, feature_sizes: Sequence[int],
                 columns: Optional[Sequence[int]] = None):
        super().__init__()
        if int(emb_dim) != emb_dim or emb_dim < 1:
            raise ValueError(f"Expected 'emb_dim' to be a positive integer (got {emb_dim!r})")
        feature_sizes = tuple(int(s) for s in feature_sizes)
        if not feature_sizes or min(feature_sizes) < 1:
            raise ValueError(f"Expected 'feature_sizes' to be positive integers (got {feature_sizes!r})")
        columns = tuple(range(len(feature_sizes))) if columns is None else tuple(int(c) for c in columns)
        if not columns or len(set(columns)) != len(columns) or \
                min(columns) < 0 or max(columns) >= len(feature_sizes):
            raise ValueError(f"Expected 'columns' to be distinct indices in [0, {len(feature_sizes) - 1}] "
                             f"(got {columns!r})")
        self.emb_dim = int(emb_dim)
        self.feature_sizes = feature_sizes
        self.columns = columns
        self.embeddings = nn.ModuleList([nn.Embedding(feature_sizes[c] + 1, self.emb_dim) for c in columns])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for emb in self.embeddings:
            nn.init.xavier_uniform_(emb.weight)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: LongTensor :math:`(N, F)` of category indices (all columns; the selected ones are
        read) -> :math:`(N, d)`."""
        if x.dim() != 2 or x.shape[1] != len(self.feature_sizes):
            raise ValueError(f"Expected a tensor of shape (N, {len(self.feature_sizes)}) "
                             f"(got {tuple(x.shape)})")
        if x.dtype != torch.long:
            raise ValueError(f"Expected integer category indices of dtype torch.long (got {x.dtype})")
        out = self.embeddings[0](x[:, self.columns[0]])
        for c, emb in zip(self.columns[1:], self.embeddings[1:]):  # loop over columns (<= 9)
            out = out + emb(x[:, c])
        return out

    def extra_repr(self) -> str:
        cols = "" if self.columns == tuple(range(len(self.feature_sizes))) else f", columns={self.columns}"
        return f"{self.emb_dim}{cols}"


class AtomEncoder(_CategoricalEncoder):
    r"""Atom embedding: sum of one embedding per categorical atom column of PyG's
    :func:`~torch_geometric.utils.from_rdmol` features (OGB style,
    `Hu et al., 2020 <https://arxiv.org/abs/2005.00687>`_).

    .. math::
        \mathbf{h}_v = \sum_{c \in \text{columns}} \mathbf{E}_c[\mathbf{x}_{v,c}],
        \qquad \mathbf{E}_c \in \mathbb{R}^{(s_c + 1) \times d}

    Column order is ``torch_geometric.utils.smiles.x_map`` (atomic_num, chirality, degree,
    formal_charge, num_hs, num_radical_electrons, hybridization, is_aromatic, is_in_ring); value
    :math:`s_c` (the table's last row) is the MASK token of atom masking.

    Args:
        emb_dim (int): embedding width :math:`d`.
        feature_sizes (sequence of int, optional): categories per column :math:`s_c`.
            (default: sizes of PyG's ``x_map``)
        columns (sequence of int, optional): columns to embed; :obj:`(0,)` embeds the atom type
            only, as KCL's encoders. (default: all)

    Shapes:
        - **input:** :math:`(N, 9)` LongTensor
        - **output:** :math:`(N, d)`

    Example:
        >>> enc = AtomEncoder(16)
        >>> enc(torch.zeros(3, 9, dtype=torch.long)).shape
        torch.Size([3, 16])
    """

    def __init__(self, emb_dim: int, feature_sizes: Sequence[int] = _ATOM_FEATURE_SIZES,
                 columns: Optional[Sequence[int]] = None):
        super().__init__(emb_dim, feature_sizes, columns)


class BondEncoder(_CategoricalEncoder):
    r"""Bond embedding: sum of one embedding per categorical bond column of PyG's
    :func:`~torch_geometric.utils.from_rdmol` features (OGB style).

    .. math::
        \mathbf{h}_e = \sum_{c \in \text{columns}} \mathbf{E}_c[\mathbf{e}_{c}],
        \qquad \mathbf{E}_c \in \mathbb{R}^{(s_c + 1) \times d}

    Column order is ``torch_geometric.utils.smiles.e_map`` (bond_type, stereo, is_conjugated).

    Args:
        emb_dim (int): embedding width :math:`d`.
        feature_sizes (sequence of int, optional): categories per column.
            (default: sizes of PyG's ``e_map``)
        columns (sequence of int, optional): columns to embed; :obj:`(0,)` = bond type only.
            (default: all)

    Shapes:
        - **input:** :math:`(E, 3)` LongTensor
        - **output:** :math:`(E, d)`
    """

    def __init__(self, emb_dim: int, feature_sizes: Sequence[int] = _BOND_FEATURE_SIZES,
                 columns: Optional[Sequence[int]] = None):
        super().__init__(emb_dim, feature_sizes, columns)
