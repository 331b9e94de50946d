r"""Graph readouts: node states :math:`(N, F)` + ``batch`` -> graph embeddings :math:`(B, F')`.

Every readout is a module called as ``readout(x, batch, num_graphs)`` with an ``out_channels``
attribute; :func:`graph_readout` builds one by name.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn.aggr import Set2Set

from graphcl.kernels import aggregate

__all__ = ["READOUTS", "WeightedSumAndMax", "graph_readout", "read_out"]

#: Names accepted by :func:`graph_readout`.
READOUTS = ("sum", "mean", "max", "sum_max", "set2set")


def _check_batch(x: Tensor, batch: Tensor, num_graphs: int) -> None:
    if x.dim() != 2 or batch.shape != (x.shape[0],):
        raise ValueError(f"Expected 'x' of shape (N, F) and 'batch' of shape (N,) "
                         f"(got {tuple(x.shape)} and {tuple(batch.shape)})")
    if int(num_graphs) < 0:
        raise ValueError(f"Expected 'num_graphs' >= 0 (got {num_graphs})")


class _Pool(nn.Module):
    """Sum / mean / max pooling (graphs without nodes get 0)."""

    def __init__(self, in_channels: int, reduce: str):
        super().__init__()
        self.in_channels = self.out_channels = int(in_channels)
        self.reduce = reduce

    def forward(self, x: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        _check_batch(x, batch, num_graphs)
        return aggregate(x, batch, int(num_graphs), reduce=self.reduce)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, reduce={self.reduce!r}"


class WeightedSumAndMax(nn.Module):
    r"""Gated weighted sum concatenated with max pooling, the readout of KCL's GCN view
    (`Fang et al., 2022 <https://arxiv.org/abs/2112.00544>`_; DGL-LifeSci's
    ``WeightedSumAndMax``).

    .. math::
        \mathbf{h}_G = \Big[\sum_{v \in G} \sigma(\mathbf{w}^\top \mathbf{x}_v + b)\,
        \mathbf{x}_v \;\Big\Vert\; \max_{v \in G} \mathbf{x}_v\Big]

    Args:
        in_channels (int): node width :math:`F`.

    Shapes:
        - **input:** ``x`` :math:`(N, F)`, ``batch`` :math:`(N,)`, ``num_graphs`` :math:`B`
        - **output:** :math:`(B, 2F)` (graphs without nodes get 0)

    Example:
        >>> readout = WeightedSumAndMax(4)
        >>> readout(torch.randn(5, 4), torch.tensor([0, 0, 1, 1, 1]), 2).shape
        torch.Size([2, 8])
    """

    def __init__(self, in_channels: int):
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = 2 * self.in_channels
        self.gate = nn.Linear(self.in_channels, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.gate.reset_parameters()

    def forward(self, x: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        _check_batch(x, batch, num_graphs)
        weighted = aggregate(torch.sigmoid(self.gate(x)) * x, batch, int(num_graphs), reduce="sum")
        return torch.cat([weighted, aggregate(x, batch, int(num_graphs), reduce="max")], dim=-1)

    def extra_repr(self) -> str:
        return f"{self.in_channels}"


class _Set2Set(nn.Module):
    """PyG's :class:`~torch_geometric.nn.aggr.Set2Set` (``2F`` output) with the readout call."""

    def __init__(self, in_channels: int, processing_steps: int, num_layers: int):
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = 2 * self.in_channels
        self.set2set = Set2Set(self.in_channels, processing_steps, num_layers=num_layers)

    def reset_parameters(self) -> None:
        self.set2set.reset_parameters()

    def forward(self, x: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        _check_batch(x, batch, num_graphs)
        return self.set2set(x, batch, dim_size=int(num_graphs))


def graph_readout(name: str, in_channels: int, processing_steps: int = 6,
                  num_layers: int = 3) -> nn.Module:
    r"""Build a graph readout by name.

    * ``"sum"``, ``"mean"``, ``"max"``: pooling, :math:`F` outputs.
    * ``"sum_max"``: :class:`WeightedSumAndMax`, :math:`2F` outputs (KCL's GCN view).
    * ``"set2set"``: PyG's :class:`~torch_geometric.nn.aggr.Set2Set` (`Vinyals et al., 2016
      <https://arxiv.org/abs/1511.06391>`_), :math:`2F` outputs; KCL's KMPNN view uses 6
      processing steps and a 3-layer LSTM (the defaults here).

    Args:
        name (str): one of :data:`READOUTS`.
        in_channels (int): node width :math:`F`.
        processing_steps (int, optional): ``"set2set"`` iterations. (default: :obj:`6`)
        num_layers (int, optional): ``"set2set"`` LSTM layers. (default: :obj:`3`)

    Returns:
        a module called as ``readout(x, batch, num_graphs)`` with ``out_channels``.

    Example:
        >>> graph_readout("set2set", 8).out_channels
        16
    """
    if name not in READOUTS:
        raise ValueError(f"Expected 'name' to be one of {READOUTS} (got {name!r})")
    if int(in_channels) != in_channels or in_channels < 1:
        raise ValueError(f"Expected 'in_channels' to be a positive integer (got {in_channels!r})")
    if name == "sum_max":
        return WeightedSumAndMax(in_channels)
    if name == "set2set":
        if int(processing_steps) != processing_steps or processing_steps < 1:
            raise ValueError(f"Expected 'processing_steps' to be a positive integer (got {processing_steps!r})")
        if int(num_layers) != num_layers or num_layers < 1:
            raise ValueError(f"Expected 'num_layers' to be a positive integer (got {num_layers!r})")
        return _Set2Set(in_channels, int(processing_steps), int(num_layers))
    return _Pool(in_channels, name)


def read_out(readout: nn.Module, h: Tensor, data) -> Tensor:
    """Apply ``readout`` to node states ``h`` of ``data``: a ``Batch`` (its ``batch`` vector and ``num_graphs``) or
    one graph (all nodes in graph 0). Returns :math:`(B, \\text{out\\_channels})`."""
    batch = getattr(data, "batch", None)
    if batch is None:
        return readout(h, torch.zeros(h.shape[0], dtype=torch.long, device=h.device), 1)
    return readout(h, batch, int(data.num_graphs))
