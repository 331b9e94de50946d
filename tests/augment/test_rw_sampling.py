import pytest
import torch

from graphcl.augment import RWSampling, random_walk


def test_walk_on_directed_ring_is_deterministic():
    ring = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]])
    walks = random_walk(ring, 5, torch.tensor([0, 3]), walk_length=6)
    assert walks.tolist() == [[0, 1, 2, 3, 4, 0, 1], [3, 4, 0, 1, 2, 3, 4]]


def test_walk_follows_edges_and_stops_at_sinks(graph):
    n = graph.num_nodes
    ei = torch.cat([graph.edge_index, torch.tensor([[0], [n]])], 1)  # node n is a sink reachable from 0
    walks = random_walk(ei, n + 1, torch.arange(n + 1), 8, torch.Generator().manual_seed(0))
    edges = set((ei[0] * (n + 1) + ei[1]).tolist())
    src, dst = walks[:, :-1].reshape(-1), walks[:, 1:].reshape(-1)
    moved = src != dst
    assert set((src[moved] * (n + 1) + dst[moved]).tolist()) <= edges
    assert torch.all(walks[n] == n)  # a walker on a sink stays


def test_neighbour_choice_is_uniform():
    star = torch.tensor([[0, 0, 0, 0], [1, 2, 3, 4]])
    walks = random_walk(star, 5, torch.zeros(4000, dtype=torch.long), 1, torch.Generator().manual_seed(0))
    freq = torch.bincount(walks[:, 1], minlength=5)[1:].float() / 4000
    assert torch.allclose(freq, torch.full((4,), 0.25), atol=0.03)


def test_sampling_keeps_visited_nodes(graph):
    out = RWSampling(num_seeds=3, walk_length=0, generator=torch.Generator().manual_seed(0))(graph)
    assert out.num_nodes == 3  # no steps: exactly the seeds
    out = RWSampling(num_seeds=3, walk_length=4, relabel_nodes=True,
                     generator=torch.Generator().manual_seed(0))(graph)
    assert 3 <= out.num_nodes <= 15 and torch.equal(out.x, graph.x[out.n_id])


def test_errors():
    with pytest.raises(ValueError, match="'num_seeds'"):
        RWSampling(0, 3)
    with pytest.raises(ValueError, match="'walk_length'"):
        RWSampling(2, -1)
