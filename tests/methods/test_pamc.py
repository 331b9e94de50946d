import math

import pytest
import torch

from graphcl.data import csbm
from graphcl.losses.pamc import pamc_graph, pamc_loss
from graphcl.methods import get_method, resolve_config
from graphcl.methods.pamc import PamC, PamCNet
from graphcl.train import fit, load_checkpoint

# ---------------------------------------------------------------- the method


def _data():
    return csbm(num_nodes=90, num_blocks=3, num_features=12, p_in=0.15, p_out=0.005, signal=3.0, seed=0)


def _config(**overrides):
    base = {"hidden": [16, 16, 32], "embedding_dim": 4, "pretrain_epochs": 3, "pretrain_batch_size": 32,
            "epochs": 4, "kmeans_n_init": 2, "checkpoint_every": 2}
    return resolve_config(PamC, "synthetic", overrides={**base, **overrides})


def test_registered_and_presets_documented():
    assert get_method("pamc") is PamC
    for name in ("Cora", "CiteSeer", "PubMed", "Photo"):
        assert name in PamC.presets
    cite = PamC.presets["CiteSeer"]
    assert (cite["alpha"], cite["beta"], cite["order"], cite["tau"]) == (2.0, 2.5, 3, 0.5)  # the authors' "cite" run
    for name, preset in PamC.presets.items():  # a contrastive start trains the GCN encoder: never with the MLP
        if preset.get("pretrain", "autoencoder") != "autoencoder":
            assert preset["encoder"] == "gcn", name


@pytest.mark.parametrize("contrast", ["hard", "soft", "dense"])
@pytest.mark.parametrize("encoder", ["mlp", "gcn"])
def test_trains_and_predicts(contrast, encoder):
    data = _data()
    hidden = [16, 16] if encoder == "gcn" else [16, 16, 32]
    method = PamC(data, _config(contrast=contrast, encoder=encoder, hidden=hidden))
    losses = fit(method, 4, progress=False)
    assert len(losses) == 4 and all(math.isfinite(x) for x in losses)
    assert method.initialised and len(method.pretrain_history) == 3
    pred = method.predict_clusters()
    assert pred.shape == (90,) and int(pred.min()) >= 0 and int(pred.max()) < 3
    assert method.embed().shape == (90, 4)
    q = method.soft_assignment()
    assert torch.allclose(q.sum(1), torch.ones(90), atol=1e-5)
    assert torch.equal(pred, q.argmax(1))


@pytest.mark.parametrize("contrast", ["hard", "soft"])
def test_objective_is_beta_kl_plus_alpha_pamc_at_the_references_defaults(contrast):
    # the reference's argparse defaults (alpha 2, beta 0.1, tau 1, order 2, influence off); Q, P and KL(P || Q) are
    # computed here as SDCN/the reference does, the contrast term with the loss checked against the reference's own
    # computation in tests/losses/test_pamc_loss.py
    data = _data()
    method = PamC(data, _config(alpha=2.0, beta=0.1, tau=1.0, order=2, influence=False, contrast=contrast))
    method.pretrain()
    with torch.no_grad():
        z = method.encode()
        mu = method.model.centers.detach()
        q = 1.0 / (1.0 + ((z.unsqueeze(1) - mu) ** 2).sum(2))  # Student-t, v = 1
        q = q / q.sum(1, keepdim=True)
        weight = q ** 2 / q.sum(0)
        p = weight / weight.sum(1, keepdim=True)
        kl = torch.nn.functional.kl_div(q.log(), p, reduction="batchmean")
        ei, w = pamc_graph(data.edge_index, data.num_nodes, order=2, influence=False)
        assignment = q.argmax(1) if contrast == "hard" else q
        expected = 0.1 * kl + 2.0 * pamc_loss(z, ei, assignment, w, 3, tau=1.0, mode=contrast)
    assert method.training_step(1).item() == pytest.approx(expected.item(), rel=1e-5)
    assert method.last_terms["kl"] == pytest.approx(kl.item(), abs=1e-8)
    assert torch.equal(method.predict_clusters(), q.argmax(1))


def test_soft_meta_nodes_on_unit_rows_warn():
    with pytest.warns(UserWarning, match="nearly uniform"):
        PamC(_data(), _config(contrast="soft", normalize_embeddings=True))


def test_pretraining_lowers_reconstruction_and_sets_kmeans_centres():
    data = _data()
    method = PamC(data, _config(pretrain_epochs=15))
    history = method.pretrain()
    assert history[-1] < history[0]
    z = method.embed()
    # every centre is the mean of the nodes nearest to it (a k-means fixed point, up to k-means tolerance)
    labels = torch.cdist(z, method.model.centers.detach()).argmin(1)
    for k in labels.unique():
        assert torch.allclose(method.model.centers[k].detach(), z[labels == k].mean(0), atol=1e-3)


def test_clustering_separates_easy_blocks():
    from graphcl.eval import cluster_accuracy
    data = csbm(num_nodes=90, num_blocks=3, num_features=12, p_in=0.15, p_out=0.005, signal=4.0, seed=0)
    method = PamC(data, _config(pretrain_epochs=50, pretrain_lr=0.01, epochs=30, lr=0.01))
    fit(method, 30, progress=False)
    assert cluster_accuracy(data.y, method.predict_clusters()) > 0.9


def test_checkpoint_resume_matches_uninterrupted(tmp_path):
    data = _data()
    straight = PamC(data, _config())
    losses = fit(straight, 4, progress=False)
    first = PamC(data, _config())
    fit(first, 2, tmp_path, checkpoint_every=2, progress=False)
    ckpt = load_checkpoint(tmp_path)
    assert ckpt["method"]["initialised"] and ckpt["epoch"] == 2
    resumed = PamC(data, _config(seed=123))  # different init: everything must come from the checkpoint
    resumed_losses = fit(resumed, 4, checkpoint=ckpt, progress=False)
    assert resumed_losses == pytest.approx(losses, rel=1e-5)
    assert torch.equal(resumed.predict_clusters(), straight.predict_clusters())


def test_does_not_modify_callers_data():
    data = _data()
    x = data.x.clone()
    PamC(data, _config(normalize_features=True))
    assert torch.equal(data.x, x)


def test_config_errors():
    data = _data()
    with pytest.raises(ValueError, match="contrast"):
        PamC(data, _config(contrast="fuzzy"))
    with pytest.raises(ValueError, match="encoder"):
        PamC(data, _config(encoder="transformer"))
    with pytest.raises(ValueError, match="kmeans_backend"):
        PamC(data, _config(kmeans_backend="scipy"))
    nolabels = _data()
    del nolabels.y
    with pytest.raises(ValueError, match="num_clusters"):
        PamC(nolabels, _config())
    with pytest.raises(ValueError, match="gcn"):
        PamCNet(5, 2, encoder="gcn", hidden=[8, 4])


@pytest.mark.parametrize("pretrainer", ["grace", "csgcl", "ggd"])
def test_contrastive_pretraining_trains_the_shared_encoder(pretrainer):
    data = _data()
    pretrain_config = {"epochs": 3, "num_hidden": 8}
    if pretrainer != "ggd":
        pretrain_config["num_proj_hidden"] = 8
    method = PamC(data, _config(encoder="gcn", pretrain=pretrainer, pretrain_config=pretrain_config))
    assert method.model.encoder is method.pretrainer.model["encoder"]  # one module: PamC fine-tunes it
    assert method.config["embedding_dim"] == 8 and method.model.decoder is None
    before = [p.detach().clone() for p in method.model.encoder.parameters()]
    history = method.pretrain()
    assert len(history) == 3 and all(math.isfinite(x) for x in history)
    assert any(not torch.equal(a, b) for a, b in zip(before, method.model.encoder.parameters()))
    z = method.embed()
    assert z.shape == (90, 8)
    labels = torch.cdist(z, method.model.centers.detach()).argmin(1)  # centres = k-means of the embeddings
    for k in labels.unique():
        assert torch.allclose(method.model.centers[k].detach(), z[labels == k].mean(0), atol=1e-3)
    losses = fit(method, 2, progress=False)
    assert all(math.isfinite(x) for x in losses)


def test_embeddings_follow_the_pretrainers_readout():
    data = _data()  # GGD's embeddings are h + A~^K h: PamC clusters (and fine-tunes) the same quantity
    method = PamC(data, _config(encoder="gcn", pretrain="ggd", normalize_embeddings=True,
                                pretrain_config={"epochs": 2, "num_hidden": 8, "power": 3}))
    method.pretrain()
    expected = torch.nn.functional.normalize(method.pretrainer.embed(), dim=1)
    assert torch.allclose(method.embed(), expected, atol=1e-6)
    h = method.pretrainer.model["encoder"](method.x, data.edge_index)
    assert not torch.allclose(method.embed(), torch.nn.functional.normalize(h, dim=1), atol=1e-3)


@pytest.mark.parametrize("normalize", [True, False])
def test_encoder_sees_the_pretrainers_input(normalize):
    data = _data()
    method = PamC(data, _config(encoder="gcn", pretrain="grace",
                                pretrain_config={"epochs": 1, "num_hidden": 8, "normalize_features": normalize}))
    assert torch.equal(method.x, method.pretrainer.data.x)  # the features the shared encoder was trained on
    assert torch.allclose(method.x.sum(1), torch.ones(90)) == normalize  # csbm rows do not sum to 1 by themselves


def test_normalize_embeddings_clusters_on_the_unit_sphere():
    data = _data()
    method = PamC(data, _config(normalize_embeddings=True))
    z = method.embed()
    assert torch.allclose(z.norm(dim=1), torch.ones(90), atol=1e-5)
    labels = torch.cdist(z, method.model.centers.detach()).argmin(1)  # k-means centres of the normalised Z
    for k in labels.unique():
        assert torch.allclose(method.model.centers[k].detach(), z[labels == k].mean(0), atol=1e-3)
    fit(method, 2, progress=False)
    assert torch.allclose(method.embed().norm(dim=1), torch.ones(90), atol=1e-5)
    raw = PamC(data, _config()).embed()
    assert not torch.allclose(raw.norm(dim=1), torch.ones(90), atol=1e-2)  # the reference's Z: not normalised


def _dense_filter(data):
    """D^-1/2 (A + I) D^-1/2 as a dense matrix, from the edge list (the graph has no self-loops)."""
    a = torch.zeros(data.num_nodes, data.num_nodes)
    a[data.edge_index[0], data.edge_index[1]] = 1.0
    a += torch.eye(data.num_nodes)
    d = a.sum(1).rsqrt()
    return d[:, None] * a * d[None, :]


@pytest.mark.parametrize("steps", [1, 3])
def test_smooth_embeddings_propagates_the_encoder_output(steps):
    data = _data()
    method = PamC(data, _config(smooth_embeddings=steps, normalize_embeddings=True, pretrain_epochs=0))
    method.model.eval()
    with torch.no_grad():
        raw = method.model(method.x, data.edge_index)
        expected = torch.nn.functional.normalize(torch.linalg.matrix_power(_dense_filter(data), steps) @ raw, dim=1)
        assert torch.allclose(method.encode(), expected, atol=1e-5)
    assert method.embed().shape == (90, 4)
    assert all(math.isfinite(x) for x in fit(method, 2, progress=False))  # gradients flow through the filter
    with pytest.raises(ValueError, match="smooth_embeddings"):
        PamC(data, _config(smooth_embeddings=-1))


@pytest.mark.parametrize("pretrainer", ["grace", "ggd"])
def test_contrastive_pretraining_resume_matches_uninterrupted(tmp_path, pretrainer):
    data = _data()
    cfg = dict(encoder="gcn", pretrain=pretrainer, pretrain_config={"epochs": 3, "num_hidden": 8})
    straight = PamC(data, _config(**cfg))
    losses = fit(straight, 4, progress=False)
    first = PamC(data, _config(**cfg))
    fit(first, 2, tmp_path, checkpoint_every=2, progress=False)
    resumed = PamC(data, _config(**cfg, seed=5))
    assert fit(resumed, 4, checkpoint=load_checkpoint(tmp_path), progress=False) == pytest.approx(losses, rel=1e-5)
    assert torch.equal(resumed.predict_clusters(), straight.predict_clusters())


def test_contrastive_pretraining_config_errors():
    data = _data()
    with pytest.raises(ValueError, match="pretrain"):
        PamC(data, _config(pretrain="dgi"))
    with pytest.raises(ValueError, match="encoder='gcn'"):
        PamC(data, _config(pretrain="grace"))  # the default encoder is the MLP
    with pytest.raises(ValueError, match="pretrain_config"):
        PamC(data, _config(encoder="gcn", pretrain="grace", pretrain_config=[1, 2]))
    with pytest.raises(ValueError, match="Unknown config key"):
        PamC(data, _config(encoder="gcn", pretrain="grace", pretrain_config={"not_a_key": 1}))


def test_pretrainer_follows_pamcs_preset_name():
    from graphcl.methods import GRACE

    data = _data()
    aliased = {**_config(encoder="gcn", pretrain="grace"), "dataset": "cora-adgc", "preset": "Cora"}
    pre = PamC._build_pretrainer(data, aliased, "cpu")  # e.g. the benchmark's cora-adgc under PamC's Cora preset
    assert pre.config["preset"] == "Cora" and pre.config["lr"] == GRACE.presets["Cora"]["lr"] != GRACE.defaults["lr"]
    other = {**aliased, "dataset": "synthetic", "preset": "acm"}  # a PamC preset GRACE lacks: the dataset's, none
    assert PamC._build_pretrainer(data, other, "cpu").config["preset"] is None
