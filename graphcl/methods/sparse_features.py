"""Sparse CSR training features for methods whose first layer and augmenters handle them (CPU fast path)."""
from __future__ import annotations

import copy
from typing import Callable, Iterable

import torch
from torch import nn
from torch_geometric.data import Data

from ..augment import CommunalAttributeVoting, CommunalEdgeDropping, EdgeRemoving, FeatureMasking
from ..nn import BackboneConv, BackboneEncoder

__all__ = ["SPARSE_SAFE_AUGMENTERS", "MAX_SPARSE_DENSITY", "with_sparse_features"]

#: Augmenters that keep sparse CSR features sparse (they drop edges or scale whole feature columns).
SPARSE_SAFE_AUGMENTERS = (EdgeRemoving, FeatureMasking, CommunalEdgeDropping, CommunalAttributeVoting)
#: Features with at most this fraction of non-zeros (bag-of-words: Cora 1.3%, CiteSeer 0.9%, Coauthor-CS 0.9%)
#: are worth a sparse-dense first layer.
MAX_SPARSE_DENSITY = 0.05


def with_sparse_features(data: Data, encoder: nn.Module, augmenters: Iterable[Callable[[Data], Data]],
                         max_density: float = MAX_SPARSE_DENSITY) -> Data:
    """``data`` with its features as a sparse CSR matrix (a shallow copy; ``data`` itself is unchanged) when that is
    exact and faster: the features are on the CPU and at most ``max_density`` non-zero, the encoder starts with an
    untyped GCN layer (a sparse-dense product) and every augmenter is one of :data:`SPARSE_SAFE_AUGMENTERS`; else
    ``data`` itself. The values are the same up to float rounding."""
    x = data.x
    first = encoder.convs[0] if isinstance(encoder, BackboneEncoder) else None
    sparse_ok = (isinstance(first, BackboneConv) and first.mode == "gcn" and first.num_relations is None
                 and all(isinstance(f, SPARSE_SAFE_AUGMENTERS) for f in augmenters))
    if (not sparse_ok or x is None or x.device.type != "cpu" or x.layout != torch.strided or x.dim() != 2
            or x.numel() == 0 or int(torch.count_nonzero(x)) > max_density * x.numel()):
        return data
    data = copy.copy(data)
    data.x = x.to_sparse_csr()
    return data
