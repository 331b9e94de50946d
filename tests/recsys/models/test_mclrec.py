import pytest
import torch

from recsys.config import build_config
from recsys.models import MCLRec, MLPAugmenter
from recsys.trainers import MCLRecTrainer, OptimizerGroup


def _setup(tiny, tiny_data, tmp_path, **extra):
    config = build_config(MCLRec, 'ml-100k', dict(tiny, checkpoint_dir=str(tmp_path), lmd=0.1, beta=0.2, **extra))
    model = MCLRec(config, tiny_data[2].dataset)
    return config, model, MCLRecTrainer(config, model)


def _snapshot(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _moved(model, before):
    return {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}


def test_meta_update_moves_only_the_scheduled_parameters(tiny, tiny_data, tmp_path):
    _, model, trainer = _setup(tiny, tiny_data, tmp_path)
    augmenter = {n for n, _ in model.named_parameters() if n.startswith('augmenter')}
    encoder = {n for n, _ in model.named_parameters()} - augmenter
    assert len(augmenter) == len(list(model.augmenter_parameters())) == 8 and 'item_embedding.weight' in encoder
    batch = next(iter(tiny_data[2]))
    views = model.make_views(batch)
    model.train()
    for step, expected in ((trainer.encoder_step, encoder), (trainer.augmenter_step, augmenter),
                           (trainer.encoder_step, encoder)):
        before = _snapshot(model)
        loss = step(batch, views)
        assert loss > 0
        assert _moved(model, before) == expected
    assert not any(p.requires_grad for p in model.augmenter_parameters())
    assert {id(p) for p in trainer.optimizer['augmenter'].param_groups[0]['params']} == \
        {id(p) for p in model.augmenter_parameters()}


def test_joint_variant_moves_everything(tiny, tiny_data, tmp_path):
    _, model, trainer = _setup(tiny, tiny_data, tmp_path, joint=True)
    assert isinstance(trainer.optimizer, torch.optim.Adam)
    before = _snapshot(model)
    trainer._train_epoch(tiny_data[2], 0)
    assert _moved(model, before) == {n for n, _ in model.named_parameters()}


def _info_nce_by_hand(a, b):
    """The authors' ``info_nce`` + ``CrossEntropyLoss`` (dot, t = 1), row by row: view i's positive is its other
    view, its negatives the 2B - 2 views other than itself and that positive."""
    z, n = torch.cat([a, b]), a.size(0)
    s = z @ z.t()
    total = 0.0
    for i in range(2 * n):
        p = (i + n) % (2 * n)
        others = [p] + [j for j in range(2 * n) if j not in (i, p)]
        total = total - (s[i, p] - torch.logsumexp(s[i, others], 0))
    return total / (2 * n)


def _margin_by_hand(a, b):
    """The authors' ``meta_contrast_rl``: per anchor row, o_min = min(s+, max s-), o_max = max(s+, max s-);
    mean over rows of [s+ - o_min]_+ plus mean over (row, negative) of [o_max - s-]_+."""
    z, n = torch.cat([a, b]), a.size(0)
    s = z @ z.t()
    pos_terms, neg_terms = [], []
    for i in range(2 * n):
        p = (i + n) % (2 * n)
        neg = s[i, [j for j in range(2 * n) if j not in (i, p)]]
        o_min, o_max = torch.minimum(s[i, p], neg.max()), torch.maximum(s[i, p], neg.max())
        pos_terms.append(torch.clamp(s[i, p] - o_min, min=0))
        neg_terms.append(torch.clamp(o_max - neg, min=0))
    return torch.stack(pos_terms).mean() + torch.cat(neg_terms).mean()


def _losses_by_hand(model, batch, views, lmd, beta, w_enc, w_aug):
    """(L0, L1) from the encoder's and augmenters' current weights."""
    h1, h2 = model(views[0], views[1]), model(views[2], views[3])
    z1, z2 = model.augmenter1(h1), model.augmenter2(h2)
    h = model(batch['item_id_list'], batch['item_length'])
    rec = torch.nn.functional.cross_entropy(h @ model.item_embedding.weight[:model.n_items].t(), batch['item_id'])
    cl2 = _info_nce_by_hand(z1, z2) + _info_nce_by_hand(h1, z2) + _info_nce_by_hand(h2, z1)
    reg = _margin_by_hand(h1, z2) + _margin_by_hand(h2, z1) + _margin_by_hand(z1, z2)
    return rec + lmd * _info_nce_by_hand(h1, h2) + beta * cl2 + w_enc * reg, cl2 + w_aug * reg


@pytest.mark.parametrize('weights', [{}, {'encoder_reg_weight': 0.3, 'augmenter_reg_weight': 0.7}])
def test_meta_step_losses_equal_the_formulas_by_hand(tiny, tiny_data, tmp_path, weights):
    """Each step of the meta update optimises L0 = L_rec + lmd L_cl1 + beta L_cl2 + w0 R (encoder) and
    L1 = L_cl2 + w1 R (augmenters), recomputed here the authors' way on six sequences; by default w0 = 0.1 beta
    and w1 = 0.1, as in the authors' code (their encoder steps add beta (L_cl2 + 0.1 R), their augmenter step
    L_cl2 + 0.1 R)."""
    _, model, trainer = _setup(tiny, tiny_data, tmp_path, hidden_dropout_prob=0.0, attn_dropout_prob=0.0, **weights)
    w_enc, w_aug = weights.get('encoder_reg_weight', 0.1 * 0.2), weights.get('augmenter_reg_weight', 0.1)
    assert (model.encoder_reg_weight, model.augmenter_reg_weight) == (pytest.approx(w_enc), pytest.approx(w_aug))
    batch = next(iter(tiny_data[2]))[:6]
    views = model.make_views(batch)
    model.train()  # no dropout: the steps see the same function as the hand computation
    for step, which in ((trainer.encoder_step, 0), (trainer.augmenter_step, 1), (trainer.encoder_step, 0)):
        with torch.no_grad():
            expected = _losses_by_hand(model, batch, views, 0.1, 0.2, w_enc, w_aug)[which]
        assert step(batch, views) == pytest.approx(expected.item(), rel=1e-5)


def test_early_stopping_metric_is_the_authors(tiny, tiny_data, tmp_path):
    config, _, trainer = _setup(tiny, tiny_data, tmp_path)
    assert config['valid_metric'] == 'MRR@10' and trainer.valid_metric == 'mrr@10'  # the authors' seq.yaml
    assert build_config(MCLRec, 'ml-100k', dict(tiny, valid_metric='NDCG@10'))['valid_metric'] == 'NDCG@10'


def test_checkpoint_holds_both_optimizers_and_resumes(tiny, tiny_data, tmp_path):
    config, model, trainer = _setup(tiny, tiny_data, tmp_path)
    trainer.fit(tiny_data[2], tiny_data[3], saved=True)
    again = MCLRecTrainer(config, MCLRec(config, tiny_data[2].dataset))
    again.resume_checkpoint(trainer.saved_model_file)
    assert isinstance(again.optimizer, OptimizerGroup) and again.start_epoch == 1
    state = again.optimizer.state_dict()
    assert set(state) == {'encoder', 'augmenter'} and len(state['augmenter']['state']) == 8
    assert torch.equal(again.model.augmenter1.lins[0].weight, model.augmenter1.lins[0].weight)


def test_mlp_augmenter():
    torch.manual_seed(0)
    aug = MLPAugmenter((6, 4, 2, 6))
    x = torch.randn(5, 6)
    (w1, b1), (w2, b2), (w3, b3) = [(lin.weight, lin.bias) for lin in aug.lins]
    g = torch.nn.functional.gelu
    out = g(g(x @ w1.t() + b1) @ w2.t() + b2) @ w3.t() + b3
    assert torch.allclose(aug(x), out / out.norm(dim=1, keepdim=True), atol=1e-6)
    assert 'sizes=[6, 4, 2, 6]' in repr(aug)
    with pytest.raises(ValueError, match="'sizes'"):
        MLPAugmenter((6,))


def test_config_errors(tiny, tiny_data):
    with pytest.raises(ValueError, match="'augmenter_sizes' to start and end with hidden_size=16"):
        MCLRec(build_config(MCLRec, 'ml-100k', dict(tiny, augmenter_sizes=[64, 32, 16, 64])), tiny_data[2].dataset)
    with pytest.raises(ValueError, match="'reg_mode' to be one of"):
        MCLRec(build_config(MCLRec, 'ml-100k', dict(tiny, reg_mode='both')), tiny_data[2].dataset)
    with pytest.raises(ValueError, match=r"'gamma' is no longer read: set 'encoder_reg_weight' and "
                                         r"'augmenter_reg_weight'.*\(got gamma=0.02\)$"):
        MCLRec(build_config(MCLRec, 'ml-100k', dict(tiny, gamma=0.02)), tiny_data[2].dataset)
