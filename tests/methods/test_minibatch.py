import copy

import pytest
import torch
from torch_geometric.data import Data

from graphcl.data import csbm
from graphcl.methods import CSGCL, GGD, GRACE, resolve_config
from graphcl.methods.minibatch import gather_rows, minibatch_settings, share_sizes, trim_to_seeds
from graphcl.nn import GCNEncoder

SMALL = {"num_hidden": 16, "num_proj_hidden": 16}


@pytest.fixture(scope="module")
def data():
    return csbm(num_nodes=150, num_blocks=3, num_features=12, p_in=0.1, p_out=0.01, seed=1)


def _method(cls, data, **overrides):
    small = {k: v for k, v in SMALL.items() if k in cls.defaults}
    return cls(data, resolve_config(cls, "synthetic", overrides={**small, **overrides}))


def _params(method):
    return [p.detach().clone() for p in method.model.parameters()]


# views that keep every edge and feature: the steps are then free of the augmentations' random draws
NO_AUGMENTATION = {GRACE: {"drop_edge_rate_1": 0.0, "drop_edge_rate_2": 0.0, "drop_feature_rate_1": 0.0,
                           "drop_feature_rate_2": 0.0},
                   CSGCL: {"drop_edge_rate_1": 0.0, "drop_edge_rate_2": 0.0, "drop_feature_rate_1": 0.0,
                           "drop_feature_rate_2": 0.0, "drop_edge_thresh": 0.0, "t0": 0}}


@pytest.mark.parametrize("cls", [GRACE, CSGCL])
def test_one_batch_of_every_node_with_every_neighbour_is_full_batch_training(data, cls):
    full = _method(cls, data, **NO_AUGMENTATION[cls])
    mini = _method(cls, data, **NO_AUGMENTATION[cls], batch_size=data.num_nodes, num_neighbors=[-1, -1])
    assert full.minibatch is None and mini.minibatch is not None
    for epoch in (1, 2, 3):  # seeds in a random order each epoch: the loss (CSGCL: the seeds' strengths) follows
        assert mini.train_epoch(epoch) == pytest.approx(full.train_epoch(epoch), rel=1e-5)
    for a, b in zip(_params(mini), _params(full)):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls", [GRACE, CSGCL, GGD])
def test_an_epoch_steps_once_per_batch_with_the_loss_on_its_seeds(data, cls, monkeypatch):
    method = _method(cls, data, batch_size=40)
    seen, steps = [], []
    objective, step = method.objective, method.optimizer.step

    def spy(outputs, nodes, epoch):
        seen.append((nodes.clone(), [h.shape[0] for h in outputs]))
        return objective(outputs, nodes, epoch)

    monkeypatch.setattr(method, "objective", spy)
    monkeypatch.setattr(method.optimizer, "step", lambda: steps.append(1) or step())
    before = _params(method)
    loss = method.train_epoch(1)
    assert len(steps) == 4 and [len(nodes) for nodes, _ in seen] == [40, 40, 40, 30]
    assert all(rows == [len(nodes)] * 2 for nodes, rows in seen)  # two views (GGD: view and corruption)
    assert torch.equal(torch.cat([nodes for nodes, _ in seen]).sort()[0], torch.arange(data.num_nodes))
    assert loss > 0 and not all(torch.equal(a, b) for a, b in zip(before, _params(method)))


def test_trim_to_seeds_gives_the_seeds_their_outputs_on_the_whole_view():
    gen = torch.Generator().manual_seed(0)
    view = Data(x=torch.randn(300, 5, generator=gen), edge_index=torch.randint(300, (2, 700), generator=gen))
    encoder = GCNEncoder(5, 8, 4, num_layers=2)
    seeds = torch.tensor([7, 3, 250, 100])
    part = trim_to_seeds(view, seeds, num_layers=2)
    assert part.num_nodes < 300 and part.edge_index.size(1) < view.edge_index.size(1)
    assert len(part.num_sampled_nodes) == 4 and part.num_sampled_nodes[0] == 4
    assert torch.equal(part.x[:4], view.x[seeds])
    with torch.no_grad():
        whole = encoder(view.x, view.edge_index)[seeds]
        assert torch.allclose(encoder(part.x, part.edge_index)[:4], whole, atol=1e-6)
        assert torch.allclose(encoder(part.x, part.edge_index, num_sampled_nodes=part.num_sampled_nodes), whole,
                              atol=1e-6)
        short = trim_to_seeds(view, seeds, num_layers=1)  # too shallow for 2 layers: differs
        assert not torch.allclose(encoder(short.x, short.edge_index)[:4], whole, atol=1e-6)


def _untrimmed_loss(method, batch, epoch):
    """A step's loss as the encoder on the whole of each view gives it (the computation before trimming)."""
    size = int(batch.batch_size)
    graph = Data(x=gather_rows(method.train_data.x, batch.n_id), edge_index=batch.edge_index, e_id=batch.e_id,
                 num_nodes=batch.num_nodes)
    outputs = [method.encode(view)[:size] for view in method.augment(graph)]
    return method.objective(outputs, batch.n_id[:size], epoch)


@pytest.mark.parametrize("cls", [GRACE, CSGCL, GGD])
def test_a_trimmed_step_has_the_loss_and_gradients_of_the_whole_views(data, cls):
    # edges dropped (GGD: none, but its corruption relabels the nodes): the views' hops are not the sample's
    drops = {"num_layers": 2} if cls is GGD else {"drop_edge_rate_1": 0.4, "drop_edge_rate_2": 0.3,
                                                  "drop_edge_thresh": 1.0}
    method = _method(cls, data, batch_size=20, num_neighbors=[3, 3],
                     **{k: v for k, v in drops.items() if k in cls.defaults})
    batch = method.minibatch.loader(torch.randperm(data.num_nodes, generator=torch.Generator().manual_seed(2))[:20])
    params = list(method.model.parameters())
    state = method.generator.get_state()
    rows = []
    hooks = [conv.register_forward_hook(lambda m, args, out: rows.append(args[0].shape[0]))
             for conv in method.model["encoder"].convs]
    loss = method.minibatch.loss(batch, 3)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    for hook in hooks:
        hook.remove()
    assert max(rows[1::2]) < batch.num_nodes  # the last layer ran on the seeds' neighbourhoods only
    method.generator.set_state(state)
    reference = _untrimmed_loss(method, batch, 3)
    assert torch.allclose(loss, reference, rtol=1e-5)
    for a, b in zip(grads, torch.autograd.grad(reference, params, allow_unused=True)):
        assert (a is None) == (b is None) and (a is None or torch.allclose(a, b, rtol=1e-4, atol=1e-6))


def test_gather_rows_of_sparse_features_match_the_dense_rows():
    x = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0], [0.0, 0.0, 0.0], [4.0, 0.0, 0.0]])
    index = torch.tensor([3, 1, 1, 2, 0])
    rows = gather_rows(x.to_sparse_csr(), index)
    assert rows.layout == torch.sparse_csr and torch.equal(rows.to_dense(), x[index])
    assert torch.equal(gather_rows(x, index), x[index])


def test_share_sizes_split_a_batch_evenly():
    assert share_sizes(63, 2) == [32, 31] and share_sizes(11, 3) == [4, 4, 3] and sum(share_sizes(5, 1)) == 5


def test_csgcl_subgraphs_keep_the_full_graphs_probabilities(data):
    method = _method(CSGCL, data, batch_size=32)
    full = _method(CSGCL, data)
    batch = method.minibatch.loader(torch.arange(0, 150, 5))
    for (ced, cav), (full_ced, full_cav) in zip(method.views, full.views):
        assert isinstance(ced, type(full_ced)) and isinstance(cav, type(full_cav))
        assert torch.equal(ced.keep_prob(batch), full_ced.keep_prob(full.train_data)[batch.e_id])
        assert torch.equal(cav.drop_prob(batch), full_cav.drop_prob(full.data))


def test_a_resumed_minibatch_run_continues_the_same_stream(data):
    straight = _method(GRACE, data, batch_size=64)
    losses = [straight.train_epoch(epoch) for epoch in (1, 2, 3)]
    first = _method(GRACE, data, batch_size=64)
    first.train_epoch(1), first.train_epoch(2)
    resumed = _method(GRACE, data, batch_size=64, seed=5)  # another seed: the state must restore everything
    resumed.load_state_dict(copy.deepcopy(first.state_dict()))
    assert resumed.train_epoch(3) == losses[2]


@pytest.mark.parametrize("cls", [GRACE, GGD])
def test_embeddings_are_the_full_graph_encoders(data, cls):
    mini = _method(cls, data, batch_size=50)
    mini.train_epoch(1)
    full = _method(cls, data)
    full.model.load_state_dict(mini.model.state_dict())
    assert torch.allclose(mini.embed(), full.embed(), atol=1e-6)


def test_minibatch_training_learns(data):
    method = _method(GRACE, data, batch_size=50, lr=0.01)
    losses = [method.train_epoch(epoch) for epoch in range(1, 9)]
    assert losses[-1] < losses[0] - 0.1


@pytest.mark.parametrize("overrides, message", [
    ({"batch_size": 0}, r"Expected 'batch_size' to be null \(full batch\) or an integer >= 1 \(got 0\)"),
    ({"batch_size": 8.5}, r"Expected 'batch_size' to be null \(full batch\) or an integer >= 1 \(got 8.5\)"),
    ({"batch_size": 8, "num_neighbors": [5]}, r"Expected 'num_neighbors' to give one fan-out per encoder layer \(2\) "
                                              r"\(got \[5\]\)"),
    ({"batch_size": 8, "num_neighbors": [5, -3]}, "Expected 'num_neighbors' to be a non-empty list of fan-outs"),
    ({"batch_size": 8, "pot": True}, "'pot' needs full-batch training"),
])
def test_bad_minibatch_settings_are_one_line_errors(data, overrides, message):
    with pytest.raises(ValueError, match=message):
        _method(GRACE, data, **overrides)


def test_full_batch_is_the_default():
    assert minibatch_settings({"batch_size": None, "num_neighbors": [1]}, 3) is None
    for cls in (GRACE, CSGCL, GGD):
        assert cls.defaults["batch_size"] is None
        assert len(cls.defaults["num_neighbors"]) == cls.defaults["num_layers"]
