r"""Mini-batch training of the node methods (GRACE, CSGCL, GGD) on sampled subgraphs, in one process or in several
under PyTorch's :class:`~torch.nn.parallel.DistributedDataParallel` (``torchrun``).

With ``batch_size`` set, an epoch is one pass over a random permutation of the nodes (drawn from the method's
checkpointed generator), cut into global batches of ``batch_size`` seed nodes, one optimiser step each:

1. the seeds' neighbourhood is sampled, up to ``num_neighbors[l]`` in-neighbours per node at hop :math:`l`
   (:class:`~graphcl.data.neighbor_sampling.NeighborSampler` through PyG's
   :class:`~torch_geometric.loader.NodeLoader`: PyG's ``NeighborLoader`` batches);
2. the method's own augmenters make its views of that subgraph (:meth:`augment`; CSGCL's edge and attribute
   probabilities are the full graph's, carried to the subgraph by edge id);
3. the encoder runs on each view, each layer only where its outputs reach the seeds (:func:`trim_to_seeds`: the
   view's nodes ordered by distance to the seeds; layer :math:`l` of :math:`L` runs on the edges into nodes
   within :math:`L - 1 - l` hops, PyG's hierarchical feature computation, exact: the seeds get the outputs of the
   whole view), and the method's loss is taken on the seed nodes only (:meth:`objective`; the other sampled
   nodes only feed their messages).

Under a process group every rank draws the same permutation, subgraph and views (the same generator, seeded alike),
encodes only the part of each view its share of the seeds depends on (the same :func:`trim_to_seeds`, from its
share) and gathers the seeds' encoder outputs with their gradients
(:func:`graphcl.train.distributed.gather_with_grad`), so every rank computes the loss of the whole global batch,
negatives across ranks included. DDP's average of the ranks' gradients is then the one-process gradient of the
global batch, and a run on N processes takes the same steps as one process with the same ``batch_size`` (up to
float summation order; except that a last batch of fewer seeds than processes is left out of the epoch, since
every process needs a share). The sampling and augmentation of the global batch are repeated on every rank (cheap
next to the encoder, which is what the ranks split).

Embeddings (:meth:`~graphcl.methods.base.Method.embed`) stay the encoder's forward on the full graph without
gradients: one layer at a time over all nodes, whose aggregation is a sparse-dense product (no per-edge message
tensor), so memory grows with nodes + edges, not with the sampled neighbourhoods.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.loader import NodeLoader

from ..data.neighbor_sampling import NeighborSampler, check_num_neighbors
from ..train.distributed import gather_with_grad, is_distributed, rank, share_sizes, world_size
from ..train.loop import nonfinite_loss_message

__all__ = ["MiniBatchMethod", "MiniBatchTraining", "minibatch_settings", "gather_rows", "share_sizes",
           "trim_to_seeds"]


class MiniBatchMethod(Protocol):
    """What a method provides for mini-batch training (beside ``model``, ``optimizer``, ``generator``, ``config``
    and ``train_data``, the graph it trains on)."""

    def augment(self, graph: Data) -> list[Data]:
        """The method's views of ``graph`` (the training graph, or a sampled subgraph of it with ``e_id``)."""

    def encode(self, view: Data) -> Tensor:
        """The encoder's output for every node of a view, or for its seeds only when the view carries
        ``num_sampled_nodes`` (:func:`trim_to_seeds`; :meth:`graphcl.nn.BackboneEncoder.forward`)."""

    def objective(self, outputs: list[Tensor], nodes: Tensor | None, epoch: int) -> Tensor:
        """The loss from each view's encoder outputs at ``nodes`` (ids in the full graph; ``None``: all nodes)."""


def minibatch_settings(config: dict[str, Any], num_layers: int) -> tuple[int, list[int]] | None:
    """``(batch_size, num_neighbors)`` from a method's config, or ``None`` for full-batch training (``batch_size``
    null); one-line ``ValueError`` for a bad value, a fan-out list that does not give one entry per encoder layer,
    a batch smaller than the number of processes, or POT (whose bounds are the full graph's)."""
    batch_size = config.get("batch_size")
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Expected 'batch_size' to be null (full batch) or an integer >= 1 (got {batch_size!r})")
    fanouts = check_num_neighbors(config["num_neighbors"])
    if len(fanouts) != num_layers:
        raise ValueError(f"Expected 'num_neighbors' to give one fan-out per encoder layer ({num_layers}) "
                         f"(got {fanouts})")
    if batch_size < world_size():
        raise ValueError(f"Expected 'batch_size' >= the number of processes ({world_size()}): each takes a share "
                         f"of every batch (got {batch_size})")
    if config.get("pot"):
        raise ValueError("'pot' needs full-batch training (its bounds are the full graph's): set 'batch_size' to "
                         "null or 'pot' to false")
    return batch_size, fanouts


def gather_rows(x: Tensor, index: Tensor) -> Tensor:
    """``x[index]`` for a dense or a sparse CSR ``x`` (CSR stays CSR: the rows' stored entries are copied)."""
    if x.layout != torch.sparse_csr:
        return x[index]
    crow, index = x.crow_indices(), index.to(x.device)
    start = crow[index]
    count = crow[index + 1] - start
    new_crow = torch.zeros(index.numel() + 1, dtype=crow.dtype, device=crow.device)
    torch.cumsum(count, 0, out=new_crow[1:])
    total = int(new_crow[-1])
    position = torch.repeat_interleave(start - new_crow[:-1], count, output_size=total) + torch.arange(
        total, device=crow.device)
    return torch.sparse_csr_tensor(new_crow, x.col_indices()[position], x.values()[position],
                                   (index.numel(), x.shape[1]), check_invariants=False)


def trim_to_seeds(view: Data, seeds: Tensor, num_layers: int) -> Data:
    r"""The part of ``view`` that a ``num_layers``-layer encoder's outputs at ``seeds`` depend on, its nodes
    ordered by distance to the seeds (the seeds first, in their order), for the encoder's hierarchical forward
    (``num_sampled_nodes``, :meth:`graphcl.nn.BackboneEncoder.forward`).

    The distances are the view's own (edges dropped by an augmentation lengthen them; a relabelled view, GGD's
    corruption, has its own), so every edge into a node within ``num_layers`` hops comes from one hop further at
    most. Kept: the nodes within ``num_layers + 1`` hops and the edges into the nodes within ``num_layers`` hops,
    the values the seeds need and the in-degrees of the nodes they are computed from (GCN normalisation).

    Returns:
        :class:`~torch_geometric.data.Data` with ``x``, ``edge_index`` and ``num_sampled_nodes`` (the nodes at each
        distance, ``len(seeds)`` first).
    """
    src, dst = view.edge_index
    far = num_layers + 2
    distance = torch.full((view.num_nodes,), far, dtype=torch.long, device=src.device)
    distance[seeds] = 0
    for hop in range(1, far):
        reached = src[distance[dst] == hop - 1]
        distance[reached[distance[reached] > hop]] = hop
    counts = torch.bincount(distance, minlength=far + 1)[:far]
    distance[seeds] = -1  # the seeds first, in their order; then by distance, by id within one
    order = torch.cat([seeds, torch.sort(distance, stable=True)[1][seeds.numel():int(counts.sum())]])
    local = torch.empty_like(distance)
    local[order] = torch.arange(order.numel(), device=src.device)
    keep = distance[dst] <= num_layers  # (the seeds' -1 included)
    return Data(x=gather_rows(view.x, order), edge_index=local[view.edge_index[:, keep]], num_nodes=order.numel(),
                num_sampled_nodes=counts.tolist())


class _GlobalBatchLoss(nn.Module):
    """The loss of one global batch, as one module call (what DDP wraps, so that its gradient hooks run)."""

    def __init__(self, method: MiniBatchMethod, num_layers: int):
        super().__init__()
        self.model = method.model  # registered: the parameters DDP averages
        self.method, self.num_layers = method, num_layers

    def forward(self, batch: Data, epoch: int) -> Tensor:
        method = self.method
        size = int(batch.batch_size)
        graph = Data(x=gather_rows(method.train_data.x, batch.n_id), edge_index=batch.edge_index, e_id=batch.e_id,
                     num_nodes=batch.num_nodes)
        sizes = share_sizes(size, world_size())
        first = sum(sizes[:rank()])
        seeds = torch.arange(first, first + sizes[rank()], device=batch.edge_index.device)
        outputs = [gather_with_grad(method.encode(trim_to_seeds(view, seeds, self.num_layers)), sizes)
                   for view in method.augment(graph)]
        return method.objective(outputs, batch.n_id[:size], epoch)


class MiniBatchTraining:
    r"""The mini-batch epochs of a node method (module docstring), in one process or, under a process group, with
    the model wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`.

    Args:
        method (MiniBatchMethod): the method; its ``model``, ``optimizer``, ``generator`` and ``train_data``.
        batch_size (int): seed nodes per optimiser step (the global batch, over all processes).
        num_neighbors (list of int): in-neighbours sampled per node at each hop (-1: all), one per encoder layer.
    """

    def __init__(self, method: MiniBatchMethod, batch_size: int, num_neighbors: Sequence[int]):
        self.method, self.batch_size = method, int(batch_size)
        graph = method.train_data
        if graph.num_nodes < world_size():
            raise ValueError(f"Mini-batch training on {world_size()} processes needs at least as many nodes (the "
                             f"graph has {graph.num_nodes})")
        structure = Data(edge_index=graph.edge_index, num_nodes=graph.num_nodes)  # features: gathered per batch
        self.sampler = NeighborSampler(structure, num_neighbors, generator=method.generator)
        self.loader = NodeLoader(structure, node_sampler=self.sampler, batch_size=self.batch_size,
                                 input_nodes=torch.arange(graph.num_nodes, device=graph.edge_index.device))
        self.loss = _GlobalBatchLoss(method, len(self.sampler.num_neighbors))
        self.module: nn.Module = self.loss
        if is_distributed():
            device = graph.edge_index.device
            self.module = nn.parallel.DistributedDataParallel(
                self.loss, device_ids=[device.index] if device.type == "cuda" else None)

    @classmethod
    def of(cls, method: MiniBatchMethod, num_layers: int) -> "MiniBatchTraining | None":
        """Mini-batch training for ``method`` when its config sets ``batch_size`` (:func:`minibatch_settings`),
        else ``None``."""
        settings = minibatch_settings(method.config, num_layers)
        return None if settings is None else cls(method, *settings)

    def train_epoch(self, epoch: int, max_batches: int | None = None) -> float:
        """One pass over the nodes in global batches (only the first ``max_batches`` of it when given: a timing
        sample); the mean loss over the seeds trained."""
        method = self.method
        method.model.train()
        order = torch.randperm(method.train_data.num_nodes, generator=method.generator,
                               device=method.generator.device)
        batches = order.split(self.batch_size)
        if batches[-1].numel() < world_size():  # a share per process: a last batch too small for that waits
            batches = batches[:-1]
        total, trained = 0.0, 0
        for seeds in batches[:max_batches]:
            batch = self.loader(seeds)
            method.optimizer.zero_grad()
            loss = self.module(batch, epoch)
            if not torch.isfinite(loss):
                raise FloatingPointError(nonfinite_loss_message(method, epoch))
            loss.backward()
            method.optimizer.step()
            total += float(loss.detach()) * seeds.numel()
            trained += seeds.numel()
        return total / trained

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(batch_size={self.batch_size}, num_neighbors={self.sampler.num_neighbors}, "
                f"processes={world_size()})")
