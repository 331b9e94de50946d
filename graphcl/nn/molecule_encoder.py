r"""Molecule encoder: atom embedding -> a stack of :class:`BackboneConv` (GCN or GIN) -> readout."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from .activation import get_activation
from .atom_encoder import AtomEncoder, BondEncoder
from .backbone_conv import BackboneConv
from .readout import graph_readout, read_out

__all__ = ["MoleculeEncoder"]

_MODES = ("gcn", "gin")
# Defaults of the arguments left at None, per mode: the reference that uses it.
#   gcn: KCL's original-view encoder (ZJU-Fangyin/KCL code/model/layer/gcn.py, pretrain.py arguments): atom type
#        embedded in 128-d, GELU after every layer (inside DGL's GraphConv), no batch norm.
#   gin: GraphCL / MolCLR (Hu et al.'s pretrain-gnns GIN): atom type + chirality embedded in the hidden width, bond
#        embeddings added to the messages, batch norm after every layer, ReLU on all but the last.
_MODE_DEFAULTS = {
    "gcn": dict(atom_columns=(0,), activation="gelu", batch_norm=False, act_last=True, embedding_channels=128,
                bond_features=False),
    "gin": dict(atom_columns=(0, 1), activation="relu", batch_norm=True, act_last=False, embedding_channels=None,
                bond_features=True),
}


class MoleculeEncoder(nn.Module):
    r"""Molecule encoder for PyG's categorical molecule graphs: :class:`AtomEncoder`, ``num_layers``
    :class:`BackboneConv` layers (``"gcn"`` or ``"gin"``) and a graph readout.

    Layer :math:`l` (dropout after the layer; batch norm, activation and residual optional):

    .. math::
        \mathbf{H}^{(l+1)} = \mathrm{drop}\Big(\sigma\big(\mathrm{BN}(\mathrm{conv}_l(\mathbf{H}^{(l)},
        \mathcal{G}))\big) + \sigma(\mathbf{H}^{(l)}\mathbf{W}^{(l)}_{r} + \mathbf{b}^{(l)}_{r})\Big),
        \qquad \mathbf{h}_G = \mathrm{readout}(\mathbf{H}^{(L)})

    (the second term only with ``residual``; :math:`\sigma` is skipped after the last layer
    unless ``act_last``). Arguments left at :obj:`None` take the defaults of the reference that
    uses the mode:

    * ``"gcn"``: KCL's original-view encoder (`Fang et al., 2022
      <https://arxiv.org/abs/2112.00544>`_): atom type only, 128-d embedding, GELU after every
      layer, no batch norm; the preset is ``hidden_channels=64, num_layers=2, residual=True,
      readout="sum_max"``. The reference's DGL ``GraphConv`` normalisation is left unspecified
      by its arguments (``gnn_norm=None``); here the layer is the project's GCN (self-loops,
      symmetric normalisation; change it with ``conv_kwargs``).
    * ``"gin"``: GraphCL / MolCLR (`You et al., 2020 <https://arxiv.org/abs/2010.13902>`_,
      `Wang et al., 2022 <https://arxiv.org/abs/2102.10056>`_): atom type + chirality embedded
      in the hidden width, GIN MLP ``Linear(d, 2d) -> ReLU -> Linear(2d, d)``, batch norm,
      ReLU on all but the last layer, bond embeddings added to the messages
      (``bond_features``); preset ``hidden_channels=300, num_layers=5, readout="mean"``.

    With ``bond_features`` (``"gin"`` only) a :class:`BondEncoder` embeds the bonds once in the
    hidden width, :math:`\mathbf{b}_{ji}`, and every layer adds its own projection of it to the
    messages, :math:`\mathbf{x}_j + \mathbf{W}^{(l)}_e \mathbf{b}_{ji} + \mathbf{c}^{(l)}_e`
    (:class:`BackboneConv` ``"gin"`` with ``edge_dim``). Hu et al. and MolCLR keep one embedding
    table per layer and embed bond type and direction (plus a self-loop bond); PyG's features
    give bond type, stereo and conjugation (all read by default, ``bond_columns``), and the
    self-loop bond's embedding is a constant that the GIN MLP's first bias absorbs.

    Args:
        mode (str, optional): ``"gcn"`` or ``"gin"``. (default: :obj:`"gin"`)
        hidden_channels (int, optional): layer width. (default: :obj:`300`)
        num_layers (int, optional): number of layers. (default: :obj:`5`)
        readout (str, optional): see :func:`graph_readout`. (default: :obj:`"mean"`)
        atom_columns (sequence of int, optional): atom feature columns embedded.
            (default: per mode)
        residual (bool, optional): add :math:`\sigma(\mathbf{H}\mathbf{W}_r + \mathbf{b}_r)`
            (KCL's residual connection). (default: :obj:`False`)
        dropout (float, optional): dropout after every layer. (default: :obj:`0.0`)
        activation (str, optional): activation name. (default: per mode)
        batch_norm (bool, optional): batch norm after every layer. (default: per mode)
        act_last (bool, optional): activation after the last layer. (default: per mode)
        embedding_channels (int, optional): atom embedding width (:obj:`None` for ``gin``:
            the hidden width). (default: per mode)
        bond_features (bool, optional): add bond embeddings to the messages (``"gin"`` only;
            the graphs then need ``edge_attr``). (default: per mode)
        bond_columns (sequence of int, optional): bond feature columns embedded (PyG's
            ``e_map`` order). (default: all)
        **conv_kwargs: further :class:`BackboneConv` arguments.

    Shapes:
        - **input:** a ``Batch`` of :math:`B` molecules (``x`` :math:`(N, 9)`, ``edge_index``)
        - **output:** :math:`(B, \text{out\_channels})`; :meth:`node_embeddings`
          :math:`(N, \text{hidden\_channels})`

    Example:
        >>> enc = MoleculeEncoder("gcn", hidden_channels=64, num_layers=2, readout="sum_max",
        ...                       residual=True)
        >>> enc.out_channels
        128
    """

    def __init__(self, mode: str = "gin", hidden_channels: int = 300, num_layers: int = 5,
                 readout: str = "mean", atom_columns: Optional[Sequence[int]] = None,
                 residual: bool = False, dropout: float = 0.0, activation: Optional[str] = None,
                 batch_norm: Optional[bool] = None, act_last: Optional[bool] = None,
                 embedding_channels: Optional[int] = None, bond_features: Optional[bool] = None,
                 bond_columns: Optional[Sequence[int]] = None, **conv_kwargs: Any):
        super().__init__()
        if mode not in _MODES:
            raise ValueError(f"Expected 'mode' to be one of {_MODES} (got {mode!r})")
        for name, value in (("hidden_channels", hidden_channels), ("num_layers", num_layers)):
            if int(value) != value or value < 1:
                raise ValueError(f"Expected '{name}' to be a positive integer (got {value!r})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"Expected 'dropout' in [0, 1) (got {dropout!r})")
        d = _MODE_DEFAULTS[mode]
        self.mode = mode
        self.hidden_channels = int(hidden_channels)
        self.num_layers = int(num_layers)
        self.residual = bool(residual)
        self.dropout = float(dropout)
        self.activation = d["activation"] if activation is None else activation
        self.batch_norm = d["batch_norm"] if batch_norm is None else bool(batch_norm)
        self.act_last = d["act_last"] if act_last is None else bool(act_last)
        atom_columns = d["atom_columns"] if atom_columns is None else atom_columns
        if embedding_channels is None:
            embedding_channels = d["embedding_channels"] or self.hidden_channels
        self.embedding_channels = int(embedding_channels)
        bond_features = d["bond_features"] if bond_features is None else bool(bond_features)
        if bond_features and mode != "gin":
            raise ValueError(f"'bond_features' needs mode='gin' (got mode={mode!r}): a GCN message has no "
                             f"edge term")

        self.atom_encoder = AtomEncoder(self.embedding_channels, columns=atom_columns)
        self.bond_encoder = BondEncoder(self.hidden_channels, columns=bond_columns) if bond_features else None
        widths = [self.embedding_channels] + [self.hidden_channels] * self.num_layers
        self.convs = nn.ModuleList()
        for i, o in zip(widths[:-1], widths[1:]):
            kw = dict(conv_kwargs)
            if mode == "gin" and "gin_nn" not in kw:
                kw["gin_nn"] = nn.Sequential(nn.Linear(i, 2 * o), nn.ReLU(), nn.Linear(2 * o, o))
            if bond_features:
                kw["edge_dim"] = self.hidden_channels
            self.convs.append(BackboneConv(i, o, mode=mode, **kw))
        self.norms = nn.ModuleList([nn.BatchNorm1d(self.hidden_channels) for _ in range(self.num_layers)]) \
            if self.batch_norm else None
        n_act = self.num_layers if self.act_last else self.num_layers - 1
        self.acts = nn.ModuleList([get_activation(self.activation) for _ in range(n_act)])
        if self.residual:
            self.res_lins = nn.ModuleList([nn.Linear(i, o) for i, o in zip(widths[:-1], widths[1:])])
            self.res_acts = nn.ModuleList([get_activation(self.activation) for _ in range(self.num_layers)])
        else:
            self.res_lins = self.res_acts = None
        self.readout = graph_readout(readout, self.hidden_channels)
        self.out_channels = self.readout.out_channels
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.atom_encoder.reset_parameters()
        for module in self.modules():
            if module is not self and module is not self.atom_encoder and hasattr(module, "reset_parameters") \
                    and not isinstance(module, (nn.Embedding,)):
                module.reset_parameters()

    def node_embeddings(self, data) -> Tensor:
        """Atom states after the last layer, :math:`(N, \\text{hidden\\_channels})`."""
        h = self.atom_encoder(data.x)
        edge_index, bonds = data.edge_index, None
        if self.bond_encoder is not None:
            if getattr(data, "edge_attr", None) is None:
                raise ValueError("MoleculeEncoder(bond_features=True) needs the bond features 'edge_attr' "
                                 "(PyG's from_smiles layout); got a graph without them: pass bond_features=False")
            bonds = self.bond_encoder(data.edge_attr)
        for l, conv in enumerate(self.convs):
            out = conv(h, edge_index, edge_attr=bonds)
            if self.norms is not None:
                out = self.norms[l](out)
            if l < len(self.acts):
                out = self.acts[l](out)
            if self.res_lins is not None:
                out = out + self.res_acts[l](self.res_lins[l](h))
            h = F.dropout(out, p=self.dropout, training=self.training)
        return h

    def forward(self, data) -> Tensor:
        """Graph embeddings :math:`(B, \\text{out\\_channels})` of a batch (or of one graph)."""
        return read_out(self.readout, self.node_embeddings(data), data)

    def extra_repr(self) -> str:
        return (f"mode={self.mode!r}, hidden_channels={self.hidden_channels}, num_layers={self.num_layers}, "
                f"residual={self.residual}, bond_features={self.bond_encoder is not None}, "
                f"out_channels={self.out_channels}")
