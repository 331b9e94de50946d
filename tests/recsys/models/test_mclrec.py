import pytest
import torch

from recsys.config import build_config
from recsys.losses import margin_regularizer, sequence_info_nce
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


def test_losses_follow_the_formulas(tiny, tiny_data, tmp_path):
    _, model, _ = _setup(tiny, tiny_data, tmp_path)
    model.eval()
    assert model.gamma == pytest.approx(0.02)  # 0.1 * beta
    batch = next(iter(tiny_data[2]))
    views = model.make_views(batch)
    h1, h2 = model(views[0], views[1]), model(views[2], views[3])
    z1, z2 = model.augmenter1(h1), model.augmenter2(h2)
    cl2 = sequence_info_nce(z1, z2) + sequence_info_nce(h1, z2) + sequence_info_nce(h2, z1)
    reg = margin_regularizer(h1, z2) + margin_regularizer(h2, z1) + margin_regularizer(z1, z2)
    l0 = model.rec_loss(batch)[0] + 0.1 * sequence_info_nce(h1, h2) + 0.2 * cl2 + 0.02 * reg
    assert model.encoder_loss(batch, views).item() == pytest.approx(l0.item(), rel=1e-5)
    assert model.augmenter_loss(batch, views).item() == pytest.approx((cl2 + 0.02 * reg).item(), rel=1e-5)


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
    aug = MLPAugmenter((6, 4, 2, 6))
    out = aug(torch.randn(5, 6))
    assert out.shape == (5, 6) and torch.allclose(out.norm(dim=1), torch.ones(5))
    assert 'sizes=[6, 4, 2, 6]' in repr(aug)
    with pytest.raises(ValueError, match="'sizes'"):
        MLPAugmenter((6,))


def test_config_errors(tiny, tiny_data):
    with pytest.raises(ValueError, match="'augmenter_sizes' to start and end with hidden_size=16"):
        MCLRec(build_config(MCLRec, 'ml-100k', dict(tiny, augmenter_sizes=[64, 32, 16, 64])), tiny_data[2].dataset)
    with pytest.raises(ValueError, match="'reg_mode' to be one of"):
        MCLRec(build_config(MCLRec, 'ml-100k', dict(tiny, reg_mode='both')), tiny_data[2].dataset)
