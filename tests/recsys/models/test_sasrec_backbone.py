import pytest
import torch
import torch.nn.functional as F
from recbole.model.layers import TransformerEncoder as RecBoleEncoder
from recbole.model.sequential_recommender import SASRec

from graphcl.nn.transformer_block import TransformerEncoder, map_recbole_state_dict
from recsys.config import build_config
from recsys.models import SASRecBackbone
from recsys.pipeline import sequences_per_batch, strided_samples


def _padded(lengths, length=7, n_items=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    seq = torch.zeros(len(lengths), length, dtype=torch.long)
    for b, n in enumerate(lengths):
        seq[b, :n] = torch.randint(1, n_items, (n,), generator=g)
    return seq, torch.tensor(lengths)


def _recbole_mask(item_seq):
    """SequentialRecommender.get_attention_mask (causal, padding keys at -10000), as RecBole computes it."""
    allowed = (item_seq != 0).unsqueeze(1).unsqueeze(2).expand(-1, -1, item_seq.size(1), -1).tril()
    return torch.where(allowed, 0.0, -10000.0)


@pytest.mark.parametrize('n_layers,heads', [(1, 1), (2, 2)])
def test_backbone_encoder_equals_recbole_encoder(n_layers, heads):
    torch.manual_seed(0)
    ref = RecBoleEncoder(n_layers=n_layers, n_heads=heads, hidden_size=8, inner_size=16, hidden_dropout_prob=0.3,
                         attn_dropout_prob=0.3, hidden_act='gelu', layer_norm_eps=1e-12).eval()
    ours = TransformerEncoder(n_layers, 8, heads, 16, 0.3, 0.3, 'gelu', 1e-12).eval()
    ours.load_state_dict(map_recbole_state_dict(ref.state_dict()), strict=True)
    item_seq, _ = _padded([7, 3, 1, 5])
    x = torch.randn(4, 7, 8)
    expected = ref(x, _recbole_mask(item_seq), output_all_encoded_layers=True)[-1]
    # the path SASRecBackbone uses (key padding + causal) and RecBole's additive mask as is
    assert torch.allclose(ours(x, key_padding_mask=item_seq != 0, causal=True), expected, atol=1e-5)
    assert torch.allclose(ours(x, attn_mask=_recbole_mask(item_seq)), expected, atol=1e-5)


def test_model_equals_recbole_sasrec_with_copied_weights(tiny, tiny_data):
    _, _, train, _, test = tiny_data
    ref_config = build_config(SASRec, 'ml-100k', tiny)
    ref = SASRec(ref_config, train.dataset).eval()
    ours = SASRecBackbone(tiny_data[0], train.dataset).eval()
    ours.load_recbole_sasrec(ref.state_dict())
    batch = next(iter(test))[0]
    assert torch.allclose(ours.full_sort_predict(batch), ref.full_sort_predict(batch), atol=1e-5)
    train_batch = next(iter(train))
    assert ours.calculate_loss(train_batch).item() == pytest.approx(ref.calculate_loss(train_batch).item(), rel=1e-5)
    assert torch.allclose(ours.predict(batch), ref.predict(batch), atol=1e-5)


@pytest.mark.parametrize('stride,expected', [
    (1, [[0, 0, 9, 0], [4, 0, 0, 0]]),
    (2, [[0, 7, 9, 0], [4, 0, 0, 0]]),
    (4, [[6, 7, 9, 0], [4, 0, 0, 0]]),
])
def test_shifted_targets(stride, expected):
    item_seq = torch.tensor([[5, 6, 7, 0], [8, 0, 0, 0]])
    out = SASRecBackbone.shifted_targets(item_seq, torch.tensor([3, 1]), torch.tensor([9, 4]), stride)
    assert out.tolist() == expected


@pytest.mark.parametrize('stride', [3, 10])
def test_strided_loss_is_the_mean_over_the_counted_prefixes(tiny, tiny_data, stride):
    """With causal attention the hidden state at position t is the prefix's representation; the loss averages
    the prefixes ending at the last ``stride`` positions."""
    config = build_config(SASRecBackbone, 'ml-100k', dict(tiny, train_stride=stride))
    train = tiny_data[2]
    model = SASRecBackbone(config, train.dataset).eval()
    batch = next(iter(train))[:16]
    seq, lengths, pos = batch['item_id_list'], batch['item_length'], batch['item_id']
    targets = model.shifted_targets(seq, lengths, pos, stride)
    losses = []
    for b in range(16):
        for t in range(max(0, int(lengths[b]) - stride), int(lengths[b])):
            prefix = torch.where(torch.arange(seq.size(1)) <= t, seq[b], torch.zeros_like(seq[b]))
            logits = model.forward(prefix.unsqueeze(0), torch.tensor([t + 1])) @ model.item_weight().t()
            losses.append(F.cross_entropy(logits, targets[b, t].view(1)))
    assert len(losses) > 16
    assert model.calculate_loss(batch).item() == pytest.approx(torch.stack(losses).mean().item(), rel=1e-5)


@pytest.mark.parametrize('stride', [1, 3, 10])
def test_strided_samples_cover_every_target_once(tiny, tiny_data, stride):
    full = tiny_data[2].dataset.inter_feat
    config = build_config(SASRecBackbone, 'ml-100k', dict(tiny, train_stride=stride, train_batch_size=60))
    loader = strided_samples(tiny_data[2], config)
    kept = loader.dataset.inter_feat
    # train_batch_size counts targets: a batch holds about 60 / stride sequences; the run's config is unchanged
    assert len(next(iter(loader))) == sequences_per_batch(config) == {1: 60, 3: 20, 10: 6}[stride]
    assert config['train_batch_size'] == 60
    assert len(full) / stride <= len(kept) < len(full) / stride + 80  # at most one extra sample per user
    for user in torch.unique(full['user_id']).tolist()[:20]:
        rows = kept[kept['user_id'] == user]
        targets = SASRecBackbone.shifted_targets(rows['item_id_list'], rows['item_length'], rows['item_id'], stride)
        covered = sorted(targets[targets > 0].tolist())
        assert covered == sorted(full[full['user_id'] == user]['item_id'].tolist())


def test_errors_and_repr(tiny, tiny_data):
    with pytest.raises(ValueError, match=r"'loss_type' to be one of \['CE'\] \(got 'BPR'\)"):
        SASRecBackbone(build_config(SASRecBackbone, 'ml-100k', dict(tiny, loss_type='BPR')), tiny_data[2].dataset)
    for stride in (0, 11, 'abc', 1.5, True):
        # build_config refuses them (1.5 used to become 1, 'abc' a traceback in int())
        with pytest.raises(ValueError, match=r"'train_stride' to be an integer in \[1, MAX_ITEM_LIST_LENGTH = 10\] "
                                             rf"\(got {stride!r}\)"):
            build_config(SASRecBackbone, 'ml-100k', dict(tiny, train_stride=stride))
    config = build_config(SASRecBackbone, 'ml-100k', dict(tiny, train_stride=2.0))  # a whole number is accepted
    config['train_stride'] = 1.5  # the model checks too, for a config not made by build_config
    with pytest.raises(ValueError, match=r"'train_stride' to be an integer .* \(got 1\.5\)"):
        SASRecBackbone(config, tiny_data[2].dataset)
    model = SASRecBackbone(tiny_data[0], tiny_data[2].dataset)
    assert 'n_items=395, hidden_size=16, n_layers=1, n_heads=2, max_seq_length=10' in repr(model)
