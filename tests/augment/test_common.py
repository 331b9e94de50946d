"""Invariants every augmenter must keep: no mutation of the input, seeded determinism, independent views,
PyG Compose/RandomChoice compatibility, Batch inputs stay sliceable, repr."""
import pytest
import torch
from augment_testing import assert_unchanged, make_graph, snapshot
from torch_geometric.data import Batch
from torch_geometric.transforms import Compose

from graphcl.augment import (CommunalAttributeVoting, CommunalEdgeDropping, EdgeAdding, EdgeRemoving, FeatureDropout,
                             FeatureMasking, NodeDropping, PPRDiffusion, RandomChoice, RWSampling)

FACTORIES = {
    'EdgeRemoving': lambda g: EdgeRemoving(0.3, generator=g),
    'EdgeRemoving-directed': lambda g: EdgeRemoving(0.3, undirected=False, generator=g),
    'EdgeAdding': lambda g: EdgeAdding(0.3, generator=g),
    'FeatureMasking': lambda g: FeatureMasking(0.3, generator=g),
    'FeatureDropout': lambda g: FeatureDropout(0.3, generator=g),
    'NodeDropping': lambda g: NodeDropping(0.3, generator=g),
    'NodeDropping-keep': lambda g: NodeDropping(0.3, relabel_nodes=False, generator=g),
    'RWSampling': lambda g: RWSampling(5, 3, generator=g),
    'CommunalEdgeDropping': lambda g: CommunalEdgeDropping(0.9, generator=g),
    'CommunalAttributeVoting': lambda g: CommunalAttributeVoting(0.3, generator=g),
}
RANDOM = list(FACTORIES)


def _equal(a, b):
    return set(a.keys()) == set(b.keys()) and all(
        torch.equal(a[k], b[k]) if isinstance(a[k], torch.Tensor) else a[k] == b[k] for k in a.keys())


@pytest.mark.parametrize('name', RANDOM + ['PPRDiffusion'])
def test_input_not_mutated(name):
    data = make_graph()
    snap = snapshot(data)
    aug = PPRDiffusion() if name == 'PPRDiffusion' else FACTORIES[name](torch.Generator().manual_seed(0))
    out = aug(data)
    assert out is not data
    assert_unchanged(data, snap)


@pytest.mark.parametrize('name', RANDOM)
def test_seeded_determinism_and_independent_views(name):
    data = make_graph()
    a = FACTORIES[name](torch.Generator().manual_seed(7))
    b = FACTORIES[name](torch.Generator().manual_seed(7))
    v1, v2 = a(data), a(data)
    assert _equal(v1, b(data)) and _equal(v2, b(data))
    assert not _equal(v1, v2)  # the generator advances: two calls give two different views


@pytest.mark.parametrize('name', RANDOM)
def test_compose_and_random_choice(name):
    data = make_graph()
    g = torch.Generator().manual_seed(0)
    out = Compose([FACTORIES[name](g), FeatureMasking(0.2, generator=g)])(data)
    assert out.x.size(1) == data.x.size(1)
    out = RandomChoice([FACTORIES[name](g), EdgeRemoving(0.2, generator=g)])(data)
    assert out.edge_index.size(0) == 2


@pytest.mark.parametrize('name', RANDOM + ['PPRDiffusion'])
def test_batch_stays_sliceable(name):
    graphs = [make_graph(12, 0.3, seed=s) for s in range(3)]
    for gr in graphs:
        del gr.y  # y is node-level here; keep the check on structure and features
    batch = Batch.from_data_list(graphs)
    aug = PPRDiffusion() if name == 'PPRDiffusion' else FACTORIES[name](torch.Generator().manual_seed(1))
    out = aug(batch)
    parts = out.to_data_list()
    assert len(parts) == 3
    total_edges = 0
    for gi, part in enumerate(parts):
        n = part.num_nodes
        assert part.x.size(0) == n
        if part.edge_index.numel():
            assert 0 <= int(part.edge_index.min()) and int(part.edge_index.max()) < n
        total_edges += part.edge_index.size(1)
        for key in ('edge_attr', 'edge_weight'):
            if key in part:
                assert part[key].size(0) == part.edge_index.size(1)
    assert total_edges == out.edge_index.size(1)
    assert out.num_nodes == out.x.size(0) == sum(p.num_nodes for p in parts)
    # every edge joins two nodes of the same graph
    assert torch.equal(out.batch[out.edge_index[0]], out.batch[out.edge_index[1]])


@pytest.mark.parametrize('name', RANDOM)
def test_repr_names_options(name):
    r = repr(FACTORIES[name](None))
    assert r.startswith(name.split('-')[0] + '(') and 'generator' not in r


def test_generator_type_checked():
    with pytest.raises(TypeError, match="'generator'"):
        EdgeRemoving(0.1, generator=0)
