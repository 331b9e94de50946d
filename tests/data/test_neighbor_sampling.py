import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import NodeLoader
from torch_geometric.sampler import NodeSamplerInput

from graphcl.data.neighbor_sampling import NeighborSampler, check_num_neighbors, sample_neighbors, to_csc


def _graph(num_nodes=60, num_edges=400, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(num_nodes, (2, num_edges), generator=gen)
    ei = torch.unique(ei[:, ei[0] != ei[1]], dim=1)  # distinct (src, dst) pairs
    return Data(x=torch.randn(num_nodes, 3, generator=gen), edge_index=ei, num_nodes=num_nodes,
                edge_attr=torch.arange(ei.size(1)).float())


def _reference_all(edge_index, seeds, hops):
    """Breadth-first: hop l adds every in-edge of the nodes new at hop l - 1 (a Python loop, as a reference)."""
    nodes, frontier, edges = list(seeds.tolist()), list(seeds.tolist()), set()
    for _ in range(hops):
        new = []
        for e, (s, d) in enumerate(edge_index.t().tolist()):
            if d in frontier:
                edges.add(e)
                if s not in nodes and s not in new:
                    new.append(s)
        nodes += new
        frontier = new
    return set(nodes), edges


def _hop_slices(out):
    ends = torch.tensor(out.num_sampled_edges).cumsum(0).tolist()
    return [slice(a, b) for a, b in zip([0] + ends[:-1], ends)]


@pytest.mark.parametrize("num_neighbors", [[3, 2], [1], [0, 4], [-1, 3]])
def test_sampled_edges_exist_and_respect_the_fan_outs(num_neighbors):
    data = _graph()
    seeds = torch.tensor([5, 0, 17, 42])
    out = sample_neighbors(to_csc(data.edge_index, data.num_nodes), seeds, num_neighbors,
                           torch.Generator().manual_seed(1))
    assert out.node[:4].tolist() == seeds.tolist()
    assert torch.unique(out.node).numel() == out.node.numel() == sum(out.num_sampled_nodes)
    assert out.edge.numel() == sum(out.num_sampled_edges)
    # every sampled edge is the input edge it names, with both ends relabelled to positions in `node`
    assert torch.equal(data.edge_index[:, out.edge], torch.stack([out.node[out.row], out.node[out.col]]))
    assert torch.unique(out.edge).numel() == out.edge.numel()
    in_degree = torch.bincount(data.edge_index[1], minlength=data.num_nodes)
    node_ends = torch.tensor(out.num_sampled_nodes).cumsum(0).tolist()
    for hop, (k, edges) in enumerate(zip(num_neighbors, _hop_slices(out))):
        frontier = range(node_ends[hop - 1] if hop else 0, node_ends[hop])
        col = out.col[edges]
        assert all(int(c) in frontier for c in col)  # a hop expands the nodes the previous hop added, only those
        per_node = torch.bincount(col - frontier.start, minlength=len(frontier))
        deg = in_degree[out.node[frontier.start:frontier.stop]]
        expected = deg if k < 0 else deg.clamp(max=k)  # k draws, or all in-edges when there are at most k
        assert per_node.tolist() == expected.tolist()


def test_all_neighbours_match_a_breadth_first_reference():
    data = _graph(num_nodes=40, num_edges=150)
    seeds = torch.tensor([3, 9])
    out = sample_neighbors(to_csc(data.edge_index, data.num_nodes), seeds, [-1, -1])
    nodes, edges = _reference_all(data.edge_index, seeds, 2)
    assert set(out.node.tolist()) == nodes and set(out.edge.tolist()) == edges
    big = sample_neighbors(to_csc(data.edge_index, data.num_nodes), seeds, [100, 100])  # k >= every degree
    assert torch.equal(big.edge.sort()[0], out.edge.sort()[0])


def test_draws_are_uniform_without_replacement():
    hub = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [0] * 10])
    csc, gen = to_csc(hub, 11), torch.Generator().manual_seed(0)
    counts = torch.zeros(11)
    for _ in range(3000):
        out = sample_neighbors(csc, torch.tensor([0]), [3], gen)
        assert out.edge.numel() == 3 and torch.unique(out.edge).numel() == 3
        counts[out.node[out.row]] += 1
    assert counts[0] == 0
    assert torch.allclose(counts[1:] / 3000, torch.full((10,), 0.3), atol=0.04)  # 3 of 10: p = 0.3 each


def test_a_seeded_generator_reproduces_the_subgraph():
    data = _graph()
    csc, seeds = to_csc(data.edge_index, data.num_nodes), torch.arange(0, 60, 7)

    def draw(seed):
        out = sample_neighbors(csc, seeds, [2, 2], torch.Generator().manual_seed(seed))
        return out.node.tolist(), out.edge.tolist()

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)


def test_node_loader_yields_neighbor_loader_batches():
    data = _graph()
    sampler = NeighborSampler(data, [3, 3], generator=torch.Generator().manual_seed(0))
    loader = NodeLoader(data, node_sampler=sampler, input_nodes=torch.arange(10, 30), batch_size=8)
    batches = list(loader)
    assert [b.batch_size for b in batches] == [8, 8, 4]
    assert torch.equal(torch.cat([b.n_id[:b.batch_size] for b in batches]), torch.arange(10, 30))
    for b in batches:
        assert torch.equal(b.x, data.x[b.n_id]) and torch.equal(b.edge_attr, data.edge_attr[b.e_id])
        assert torch.equal(b.n_id[b.edge_index], data.edge_index[:, b.e_id])
    assert repr(sampler) == "NeighborSampler(num_neighbors=[3, 3])"


@pytest.mark.parametrize("bad", [[], [2, -2], [1.5], "10", [True]])
def test_bad_fan_outs_are_one_line_errors(bad):
    with pytest.raises(ValueError, match="Expected 'num_neighbors' to be a non-empty list of fan-outs"):
        check_num_neighbors(bad)


def test_repeated_seeds_are_refused():
    data = _graph()
    sampler = NeighborSampler(data, [2])
    with pytest.raises(ValueError, match="distinct node ids .* 1 repeats"):
        sampler.sample_from_nodes(NodeSamplerInput(None, torch.tensor([1, 2, 1])))
