"""Molecule pretraining (KCL, the GraphCL/MolCLR baseline): the loss with its temperature, batches, checkpoints."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from graphcl.methods.graphcl_mol import GraphCLMol
from graphcl.methods.kcl import KCL
from graphcl.molecules.featurize import smiles_to_data
from graphcl.train import fit, load_checkpoint

SMILES = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "OCCO", "c1ccncc1", "CCCl", "CC(C)O", "C1CCCCC1", "CS(=O)C"]
TINY_KCL = {"original_encoder": {"mode": "gcn", "hidden_channels": 8, "num_layers": 2, "readout": "sum_max",
                                 "residual": True, "atom_columns": [0]},
            "augmented_encoder": {"hidden_channels": 8, "edge_channels": 4, "edge_hidden_channels": 8,
                                  "num_steps": 2, "readout": "set2set", "atom_columns": [0]},
            "kg_embedding_dim": 8, "kg_embedding_epochs": 2, "batch_size": 4}
TINY_GIN = {"encoder": {"mode": "gin", "hidden_channels": 8, "num_layers": 2, "readout": "mean",
                        "residual": False},
            "projection_channels": 4, "batch_size": 4}


def _molecules():
    return [smiles_to_data(s) for s in SMILES]


def _config(cls, base, **extra):
    return {**cls.defaults, **base, **extra, "method": cls.name}


class _FixedViews(GraphCLMol):
    """Returns the given embeddings as the two views, so the loss can be compared with a hand computation."""

    def encode_views(self, molecules):
        n = len(molecules)
        return self.z1[:n] + 0 * self.anchor, self.z2[:n] + 0 * self.anchor

    def build_model(self):
        self.anchor = nn.Parameter(torch.zeros(()))
        return nn.ParameterList([self.anchor])


@pytest.mark.parametrize("tau", [1.0, 0.5, 0.1])
def test_nt_xent_of_a_batch_is_the_hand_computed_value_at_the_given_temperature(tau):
    method = _FixedViews(_molecules()[:2], _config(GraphCLMol, TINY_GIN, temperature=tau, batch_size=2))
    method.z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    method.z2 = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    loss = method.train_epoch(1)
    # by hand: cosine similarities; anchor u_i, positive v_i, negatives v_k and u_k (k != i), both directions
    s = lambda a, b: float(a @ b / (a.norm() * b.norm()))  # noqa: E731
    u, v = method.z1, method.z2
    terms = []
    for i in range(2):
        for a, b in ((u, v), (v, u)):
            k = 1 - i
            den = math.exp(s(a[i], b[i]) / tau) + math.exp(s(a[i], b[k]) / tau) + math.exp(s(a[i], a[k]) / tau)
            terms.append(-math.log(math.exp(s(a[i], b[i]) / tau) / den))
    assert loss == pytest.approx(sum(terms) / 4, rel=1e-5)


def test_batches_cover_the_corpus_once_per_epoch_and_differ_between_epochs():
    method = GraphCLMol(_molecules(), _config(GraphCLMol, TINY_GIN, batch_size=3))
    first = [b.tolist() for b in method.batches()]
    second = [b.tolist() for b in method.batches()]
    # a last batch of one molecule has no negative and is skipped: 10 = 3 + 3 + 3 + 1
    assert [len(b) for b in first] == [3, 3, 3]
    assert len(set(sum(first, []))) == 9 and first != second


def test_kcl_trains_and_embeds_with_both_encoders():
    method = KCL(_molecules(), _config(KCL, TINY_KCL))
    losses = fit(method, 2, progress=False)
    assert len(losses) == 2 and all(np.isfinite(losses))
    for name, width in (("kmpnn", method.model["augmented"].out_channels),
                        ("gcn", method.model["original"].out_channels)):
        emb = method.embed(_molecules()[:3], name)
        assert emb.shape == (3, width) and torch.isfinite(emb).all()


def test_kcl_resume_continues_the_same_run(tmp_path):
    full = KCL(_molecules(), _config(KCL, TINY_KCL))
    expected = fit(full, 2, progress=False)
    first = KCL(_molecules(), _config(KCL, TINY_KCL))
    fit(first, 1, tmp_path, progress=False)
    resumed = KCL(_molecules(), _config(KCL, TINY_KCL), initialise=False)
    got = fit(resumed, 2, tmp_path, load_checkpoint(tmp_path), progress=False)
    assert got == pytest.approx(expected, rel=1e-5)
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_learning_rate_decays_every_k_steps():
    method = GraphCLMol(_molecules(), _config(GraphCLMol, TINY_GIN, lr=1.0e-3, lr_decay=0.5, lr_decay_steps=2))
    method.train_epoch(1)  # 3 steps: one decay
    assert method.steps == 3
    assert method.optimizer.param_groups[0]["lr"] == pytest.approx(5.0e-4)


def test_fit_stops_at_the_time_budget_with_a_checkpoint(tmp_path):
    method = GraphCLMol(_molecules(), _config(GraphCLMol, TINY_GIN))
    losses = fit(method, 50, tmp_path, progress=False, checkpoint_every=100, max_seconds=0.0)
    assert len(losses) == 1 and load_checkpoint(tmp_path)["epoch"] == 1


def test_small_batch_and_unknown_views_are_rejected():
    with pytest.raises(ValueError, match="batch_size"):
        GraphCLMol(_molecules(), _config(GraphCLMol, TINY_GIN, batch_size=1))
    with pytest.raises(ValueError, match="views"):
        GraphCLMol(_molecules(), _config(GraphCLMol, TINY_GIN, views="nope"))


def test_dgl_molecules_are_accepted_and_embed_as_their_pyg_originals():
    from graphcl.compat.dgl_convert import to_dgl
    from graphcl.molecules import MoleculeDataset

    molecules = _molecules()
    for m in molecules:
        m.y = torch.tensor([[1.0, float("nan")]])
    graphs = [to_dgl(m) for m in molecules]
    method = GraphCLMol(graphs, _config(GraphCLMol, TINY_GIN))
    assert method.train_epoch(1) > 0
    assert torch.allclose(method.embed(graphs), method.embed(molecules))
    dataset = MoleculeDataset(graphs, name="dgl", smiles=SMILES, rows=list(range(10)), label_names=["a", "b"],
                              task_type="classification")
    assert torch.equal(dataset[3].x, molecules[3].x) and torch.equal(dataset[3].edge_attr, molecules[3].edge_attr)
    assert dataset.y.shape == (10, 2) and torch.isnan(dataset.y[:, 1]).all()


@pytest.mark.parametrize("views", ["random", "subgraph"])
def test_views_with_and_without_removed_atoms_collate_into_one_batch(views):
    # subgraph removal adds ``n_id`` and ``num_nodes`` only when it removes atoms (none of 'C', 'O', 'CN' at
    # p = 0.25); atom masking and bond deletion add nothing: the views of one batch used to differ in their keys
    molecules = [smiles_to_data(s) for s in ["C1CCCCC1", "C", "c1ccccc1", "O", "CCCCCC", "CN", "CC(=O)O", "CCO"]]
    keys = [set(m.keys()) for m in molecules]
    method = GraphCLMol(molecules, _config(GraphCLMol, TINY_GIN, views=views))
    losses = fit(method, 3, progress=False)
    assert len(method.step_losses) == 6 and all(np.isfinite(losses))
    z1, z2 = method.encode_views(molecules)
    assert z1.shape == z2.shape == (8, 4) and not torch.allclose(z1, z2)
    assert [set(method.view(m).keys()) for m in molecules] == keys
    assert [set(m.keys()) for m in molecules] == keys  # the corpus itself is left as it was
