"""graphcl.eval.kmeans: the one k-means wrapper (scikit-learn and faiss backends)."""
import numpy as np
import pytest
import torch

from graphcl.eval import KMEANS_BACKENDS, cluster_accuracy, kmeans, kmeans_fit


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    means = np.array([[5.0, 5.0], [-5.0, -5.0], [5.0, -5.0]])
    y = np.repeat(np.arange(3), 40)
    return (means[y] + 0.2 * rng.standard_normal((120, 2))).astype(np.float32), y, means


@pytest.mark.parametrize("backend", KMEANS_BACKENDS)
def test_recovers_separated_blobs_and_labels_are_nearest_centres(backend):
    x, y, means = _blobs()
    result = kmeans_fit(torch.from_numpy(x), 3, seed=0, n_init=3, backend=backend)
    assert result.centers.shape == (3, 2) and result.centers.dtype == np.float32
    order = np.lexsort(result.centers.T[::-1])
    assert np.allclose(result.centers[order], means[np.lexsort(means.T[::-1])], atol=0.1)
    dist = ((x[:, None, :] - result.centers[None]) ** 2).sum(-1)
    assert np.array_equal(result.labels, dist.argmin(1))
    assert cluster_accuracy(y, result.labels) == 1.0


@pytest.mark.parametrize("backend", KMEANS_BACKENDS)
def test_seeded_runs_agree(backend):
    x = np.random.default_rng(1).standard_normal((200, 4)).astype(np.float32)
    a, b = kmeans_fit(x, 5, seed=3, backend=backend), kmeans_fit(x, 5, seed=3, backend=backend)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.centers, b.centers)


def test_faiss_clusters_every_point_not_a_subsample():
    # 3 centres x 256 points = faiss's default sample size; with more points the default would subsample
    x = np.random.default_rng(2).standard_normal((2000, 3)).astype(np.float32)
    result = kmeans_fit(x, 3, seed=0, n_init=1, backend="faiss", max_iter=50)
    centre_of_members = np.stack([x[result.labels == k].mean(0) for k in range(3)])
    assert np.allclose(result.centers, centre_of_members, atol=1e-2)  # a Lloyd fixed point of all 2000 points


def test_kmeans_returns_the_labels():
    x, y, _ = _blobs()
    assert np.array_equal(kmeans(x, 3, seed=0), kmeans_fit(x, 3, seed=0).labels)


def test_bad_input_is_named():
    x, _, _ = _blobs()
    with pytest.raises(ValueError, match="backend"):
        kmeans_fit(x, 3, backend="scipy")
    with pytest.raises(ValueError, match="num_clusters"):
        kmeans_fit(x[:2], 3)
    with pytest.raises(ValueError, match="NaN"):
        kmeans_fit(np.full((4, 2), np.nan), 2)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        kmeans_fit(np.zeros((0, 2)), 1)
