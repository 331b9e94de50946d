"""k-means, the one wrapper every part of the project clusters with (scikit-learn or faiss)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .clustering import _as_numpy

KMEANS_BACKENDS = ("sklearn", "faiss")


class KMeansResult(NamedTuple):
    """Centres ``(K, d)`` float32 and the label of each point ``(N,)`` int64 (its nearest centre)."""

    centers: np.ndarray
    labels: np.ndarray


def kmeans_fit(x, num_clusters: int, seed: int = 0, n_init: int = 10, backend: str = "sklearn",
               max_iter: int | None = None) -> KMeansResult:
    r"""Euclidean k-means, :math:`\min_{\mu} \sum_i \min_k \|x_i - \mu_k\|^2`, best of ``n_init`` restarts.

    Args:
        x: ``(N, d)`` points (array or tensor, any device; clustered on the CPU).
        num_clusters: :math:`K`, at most ``N``.
        seed: seed of the initialisations.
        n_init: restarts; the one with the lowest objective is kept.
        backend: ``"sklearn"`` (k-means++ seeding, Lloyd, float64; ``max_iter`` default 300) or ``"faiss"``
            (``faiss.Kmeans``, float32, on all points: faiss's default subsampling to 256 points per centre is
            switched off; ``max_iter`` default 20).
        max_iter: Lloyd iterations per restart (``None``: the backend's default).
    """
    data = np.ascontiguousarray(_as_numpy(x), dtype=np.float32)
    if data.ndim != 2 or data.shape[0] == 0:
        raise ValueError(f"Expected points of shape (N, d) with N >= 1 (got {data.shape})")
    if not np.isfinite(data).all():
        raise ValueError("k-means input contains NaN or infinite values")
    k = int(num_clusters)
    if not 1 <= k <= data.shape[0]:
        raise ValueError(f"Expected 1 <= num_clusters <= N = {data.shape[0]} (got {k})")
    if backend == "sklearn":
        from sklearn.cluster import KMeans
        km = KMeans(k, n_init=int(n_init), random_state=int(seed), max_iter=int(max_iter or 300))
        labels = km.fit_predict(data.astype(np.float64))
        return KMeansResult(km.cluster_centers_.astype(np.float32), labels.astype(np.int64))
    if backend == "faiss":
        import faiss
        km = faiss.Kmeans(data.shape[1], k, niter=int(max_iter or 20), nredo=int(n_init), seed=int(seed),
                          verbose=False, min_points_per_centroid=1, max_points_per_centroid=1 << 30)
        km.train(data)
        _, nearest = km.index.search(data, 1)
        return KMeansResult(np.array(km.centroids, dtype=np.float32), nearest[:, 0].astype(np.int64))
    raise ValueError(f"Expected a k-means backend in {KMEANS_BACKENDS} (got {backend!r})")


def kmeans(embeddings, num_clusters: int, seed: int = 0, n_init: int = 10, backend: str = "sklearn"
           ) -> np.ndarray:
    """Cluster labels of the embedding rows by :func:`kmeans_fit`."""
    return kmeans_fit(embeddings, num_clusters, seed, n_init, backend).labels
