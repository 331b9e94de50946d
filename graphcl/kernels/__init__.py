"""Aggregation kernels: segment sums (meta-node sums) and CSR message passing.

Triton kernels for CUDA tensors, torch references on CPU; see ``docs/kernels.md``.
"""
from ._backend import BACKENDS, resolve_backend, triton_available
from .aggregate import REDUCTIONS, aggregate, fixed_adjacency, spmm
from .csr_aggregate import CSRAggregateFunction, csr_aggregate
from .reference import csr_aggregate_reference, index_to_rowptr, rowptr_to_index, segment_sum_reference
from .segment_sum import SegmentSumFunction, segment_sum

__all__ = [
    "BACKENDS",
    "REDUCTIONS",
    "aggregate",
    "fixed_adjacency",
    "spmm",
    "csr_aggregate",
    "segment_sum",
    "CSRAggregateFunction",
    "SegmentSumFunction",
    "csr_aggregate_reference",
    "segment_sum_reference",
    "rowptr_to_index",
    "index_to_rowptr",
    "resolve_backend",
    "triton_available",
]
