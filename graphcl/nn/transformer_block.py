r"""Post-norm transformer block and encoder on :class:`~graphcl.nn.BackboneConv`
(``mode="attention"``), parameter-compatible with RecBole's ``TransformerEncoder``."""
from __future__ import annotations

from typing import Dict, List, Optional, Union

from torch import Tensor, nn

from .activation import get_activation
from .backbone_conv import BackboneConv

__all__ = ["TransformerBlock", "TransformerEncoder", "RECBOLE_KEY_MAP", "map_recbole_state_dict"]

#: RecBole ``TransformerLayer`` parameter prefix -> :class:`TransformerBlock` prefix.
RECBOLE_KEY_MAP: Dict[str, str] = {
    "multi_head_attention.query.": "attn.lin_query.",
    "multi_head_attention.key.": "attn.lin_key.",
    "multi_head_attention.value.": "attn.lin_value.",
    "multi_head_attention.dense.": "attn.lin_out.",
    "multi_head_attention.LayerNorm.": "attn_norm.",
    "feed_forward.dense_1.": "ffn_in.",
    "feed_forward.dense_2.": "ffn_out.",
    "feed_forward.LayerNorm.": "ffn_norm.",
}


def map_recbole_state_dict(state_dict: Dict[str, Tensor], prefix: str = "") -> Dict[str, Tensor]:
    r"""Rename a RecBole ``TransformerEncoder`` state dict to :class:`TransformerEncoder` keys.

    ``{prefix}layer.{i}.multi_head_attention.query.weight`` becomes
    ``layers.{i}.attn.lin_query.weight`` and so on (see :data:`RECBOLE_KEY_MAP`). Keys
    outside ``{prefix}layer.`` are skipped, so a whole SASRec state dict can be passed with
    ``prefix="trm_encoder."``.

    Raises:
        ValueError: if a key under ``{prefix}layer.`` has no mapping.

    Example:
        >>> import torch
        >>> sd = {"trm_encoder.layer.0.feed_forward.dense_1.bias": torch.zeros(2)}
        >>> list(map_recbole_state_dict(sd, prefix="trm_encoder."))
        ['layers.0.ffn_in.bias']
    """
    out: Dict[str, Tensor] = {}
    head = prefix + "layer."
    for key, value in state_dict.items():
        if not key.startswith(head):
            continue
        idx, rest = key[len(head):].split(".", 1)
        for src, dst in RECBOLE_KEY_MAP.items():
            if rest.startswith(src):
                out[f"layers.{idx}.{dst}{rest[len(src):]}"] = value
                break
        else:
            raise ValueError(f"Unknown RecBole transformer parameter {key!r}; expected one of "
                             f"the prefixes {sorted(RECBOLE_KEY_MAP)} after '{head}<i>.'")
    return out


class TransformerBlock(nn.Module):
    r"""Post-norm transformer layer (`Vaswani et al., 2017 <https://arxiv.org/abs/1706.03762>`_)
    as in SASRec / RecBole, with the attention computed by :class:`BackboneConv`:

    .. math::
        \mathbf{h} &= \mathrm{LN}\big(\mathbf{x} + \mathrm{drop}(\mathrm{Attn}(\mathbf{x}))\big)
        \\
        \mathbf{y} &= \mathrm{LN}\big(\mathbf{h} + \mathrm{drop}(\mathbf{W}_2\,
        \sigma(\mathbf{W}_1 \mathbf{h} + \mathbf{b}_1) + \mathbf{b}_2)\big)

    ``Attn`` is ``BackboneConv(hidden, hidden, mode="attention", heads=n_heads)``, so the
    block runs on padded sequences (dense, :math:`(B, L, d)` with masks) or on any graph
    (sparse, :math:`(N, d)` with ``edge_index``).

    Parameter mapping from RecBole's ``TransformerLayer`` (see :data:`RECBOLE_KEY_MAP`):
    ``multi_head_attention.{query,key,value,dense}`` -> ``attn.{lin_query,lin_key,lin_value,
    lin_out}``, ``multi_head_attention.LayerNorm`` -> ``attn_norm``,
    ``feed_forward.dense_1`` -> ``ffn_in``, ``feed_forward.dense_2`` -> ``ffn_out``,
    ``feed_forward.LayerNorm`` -> ``ffn_norm``. RecBole's additive extended mask
    (0 / -10000, shape :math:`(B, 1, L, L)`) can be passed unchanged as ``attn_mask``.

    Args:
        hidden (int): model width :math:`d`.
        n_heads (int): attention heads (divide ``hidden``).
        inner_size (int): feed-forward width.
        hidden_dropout (float): dropout after attention output and feed-forward.
        attn_dropout (float): dropout on attention probabilities.
        activation (str, optional): feed-forward activation. (default: :obj:`"gelu"`, exact erf)
        layer_norm_eps (float, optional): LayerNorm epsilon. (default: :obj:`1e-12`)

    Shapes:
        - **input:** :math:`(B, L, d)` (dense) or :math:`(N, d)` with ``edge_index``
        - **output:** same as input

    Example:
        >>> import torch
        >>> block = TransformerBlock(8, 2, 16, 0.0, 0.0)
        >>> block(torch.randn(2, 5, 8), causal=True).shape
        torch.Size([2, 5, 8])
    """

    def __init__(self, hidden: int, n_heads: int, inner_size: int, hidden_dropout: float,
                 attn_dropout: float, activation: str = "gelu", layer_norm_eps: float = 1e-12):
        super().__init__()
        if not 0.0 <= hidden_dropout < 1.0:
            raise ValueError(f"Expected 'hidden_dropout' in [0, 1) (got {hidden_dropout!r})")
        self.hidden = hidden
        self.n_heads = n_heads
        self.inner_size = inner_size
        self.activation = activation
        self.layer_norm_eps = layer_norm_eps
        self.attn = BackboneConv(hidden, hidden, mode="attention", heads=n_heads,
                                 dropout=attn_dropout)
        self.attn_norm = nn.LayerNorm(hidden, eps=layer_norm_eps)
        self.ffn_in = nn.Linear(hidden, inner_size)
        self.act = get_activation(activation)
        self.ffn_out = nn.Linear(inner_size, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=layer_norm_eps)
        self.dropout = nn.Dropout(hidden_dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.attn.reset_parameters()
        for m in (self.attn_norm, self.ffn_in, self.ffn_out, self.ffn_norm):
            m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None, *,
                attn_mask: Optional[Tensor] = None, key_padding_mask: Optional[Tensor] = None,
                causal: bool = False, edge_weight: Optional[Tensor] = None) -> Tensor:
        if x.dim() == 3:
            a = self.attn(x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                          causal=causal, edge_weight=edge_weight)
        else:
            a = self.attn(x, edge_index, edge_weight)
        h = self.attn_norm(x + self.dropout(a))
        f = self.ffn_out(self.act(self.ffn_in(h)))
        return self.ffn_norm(h + self.dropout(f))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.hidden}, n_heads={self.n_heads}, "
                f"inner_size={self.inner_size}, activation={self.activation!r})")


class TransformerEncoder(nn.Module):
    r"""A stack of ``n_layers`` :class:`TransformerBlock` (RecBole's ``TransformerEncoder``).

    .. math::
        \mathbf{H}^{(l+1)} = \mathrm{Block}_l(\mathbf{H}^{(l)})

    Load RecBole weights with
    ``enc.load_state_dict(map_recbole_state_dict(sd, prefix="trm_encoder."))``.

    Args:
        n_layers (int): number of blocks.
        hidden (int): model width.
        n_heads (int): attention heads.
        inner_size (int): feed-forward width.
        hidden_dropout (float): see :class:`TransformerBlock`.
        attn_dropout (float): see :class:`TransformerBlock`.
        activation (str, optional): feed-forward activation. (default: :obj:`"gelu"`)
        layer_norm_eps (float, optional): LayerNorm epsilon. (default: :obj:`1e-12`)

    Shapes:
        - **input:** :math:`(B, L, d)` (dense) or :math:`(N, d)` with ``edge_index``
        - **output:** same as input (or a list of ``n_layers`` of them with ``return_all``)
    """

    def __init__(self, n_layers: int, hidden: int, n_heads: int, inner_size: int,
                 hidden_dropout: float, attn_dropout: float, activation: str = "gelu",
                 layer_norm_eps: float = 1e-12):
        super().__init__()
        if int(n_layers) != n_layers or n_layers < 1:
            raise ValueError(f"Expected 'n_layers' to be a positive integer (got {n_layers!r})")
        self.n_layers = n_layers
        self.layers = nn.ModuleList([
            TransformerBlock(hidden, n_heads, inner_size, hidden_dropout, attn_dropout,
                             activation, layer_norm_eps) for _ in range(n_layers)])

    def reset_parameters(self) -> None:
        for layer in self.layers:
            layer.reset_parameters()

    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None, *,
                attn_mask: Optional[Tensor] = None, key_padding_mask: Optional[Tensor] = None,
                causal: bool = False, edge_weight: Optional[Tensor] = None,
                return_all: bool = False) -> Union[Tensor, List[Tensor]]:
        outs = []
        for layer in self.layers:
            x = layer(x, edge_index, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                      causal=causal, edge_weight=edge_weight)
            outs.append(x)
        return outs if return_all else x

    def __repr__(self) -> str:
        b = self.layers[0]
        return (f"{self.__class__.__name__}(n_layers={self.n_layers}, hidden={b.hidden}, "
                f"n_heads={b.n_heads}, inner_size={b.inner_size}, activation={b.activation!r})")
