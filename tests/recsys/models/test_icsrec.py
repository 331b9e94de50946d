import pytest
import torch

from recsys.config import build_config
from recsys.losses import sequence_info_nce
from recsys.models import ICSRec, kmeans


class _Config(dict):
    def __getitem__(self, key):
        return self.get(key)


class _Dataset:
    """The two things a RecBole model reads from a dataset: item count and the training interactions."""

    def __init__(self, inter, n_items):
        self.inter_feat, self.n_items = inter, n_items

    def num(self, field):
        return self.n_items


def _tiny_icsrec(duplicate=False, **extra):
    # six training subsequences; targets: 5 (rows 0, 1, 3), 7 (row 2, unique), 9 (rows 4, 5);
    # with duplicate=True a seventh, row 6, repeats row 3 (another user's identical subsequence, target 5)
    seq = torch.tensor([[1, 2, 0, 0], [3, 0, 0, 0], [1, 2, 5, 0], [2, 4, 1, 0], [6, 0, 0, 0], [6, 8, 0, 0]])
    inter = {'item_id_list': seq, 'item_length': torch.tensor([2, 1, 3, 3, 1, 2]),
             'item_id': torch.tensor([5, 5, 7, 5, 9, 9])}
    if duplicate:
        inter = {k: torch.cat([v, v[3:4]]) for k, v in inter.items()}
    config = _Config(USER_ID_FIELD='user_id', ITEM_ID_FIELD='item_id', LIST_SUFFIX='_list',
                     ITEM_LIST_LENGTH_FIELD='item_length', NEG_PREFIX='neg_', MAX_ITEM_LIST_LENGTH=4,
                     device=torch.device('cpu'), n_layers=1, n_heads=1, hidden_size=8, inner_size=8,
                     **{'hidden_dropout_prob': 0.0, 'attn_dropout_prob': 0.0, 'n_intents': 2, **extra})
    return ICSRec(config, _Dataset(inter, 10)), inter


def test_same_target_positive_is_the_last_other_one():
    """The authors' choice (``same_target_positive: last``, the default): the last subsequence in the training
    order with the anchor's target whose items differ from the anchor's, the same at every call."""
    model, inter = _tiny_icsrec(duplicate=True)
    assert model.same_target_positive == 'last'
    seq, length, target = inter['item_id_list'], inter['item_length'], inter['item_id']
    # row 3 and row 6 are the same sequence: each skips the other, and row 1 is the last other one
    expected = [6, 6, 2, 1, 5, 4, 1]
    for seed in range(5):
        pos_seq, pos_len = model.same_target_positives(seq, length, target,
                                                       generator=torch.Generator().manual_seed(seed))
        assert torch.equal(pos_seq, seq[expected]) and torch.equal(pos_len, length[expected])
    out_seq, out_len = model.same_target_positives(seq[:1], length[:1], torch.tensor([8]))  # unseen: itself
    assert torch.equal(out_seq, seq[:1]) and torch.equal(out_len, length[:1])
    with pytest.raises(ValueError, match=r"'same_target_positive' to be one of \('last', 'uniform'\) \(got 'first'\)"):
        _tiny_icsrec(same_target_positive='first')


def test_same_target_positive_uniform_draw():
    model, inter = _tiny_icsrec(same_target_positive='uniform')
    seq, length, target = inter['item_id_list'], inter['item_length'], inter['item_id']
    rows = {tuple(r.tolist()): i for i, r in enumerate(seq)}
    seen = {i: set() for i in range(6)}
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        pos_seq, pos_len = model.same_target_positives(seq, length, target, generator=g)
        for i in range(6):
            j = rows[tuple(pos_seq[i].tolist())]
            assert int(target[j]) == int(target[i]) and int(pos_len[i]) == int(length[j])
            seen[i].add(j)
    assert seen[0] == {1, 3} and seen[1] == {0, 3} and seen[3] == {0, 1}  # never itself, every other one
    assert seen[2] == {2}  # the only subsequence with target 7: itself
    assert seen[4] == {5} and seen[5] == {4}
    # an unseen target falls back to the anchor itself
    out_seq, out_len = model.same_target_positives(seq[:1], length[:1], torch.tensor([8]))
    assert torch.equal(out_seq, seq[:1]) and torch.equal(out_len, length[:1])


def test_false_negative_mask_in_the_coarse_loss(monkeypatch):
    model, inter = _tiny_icsrec(lmd=1.0, beta=0.0)
    model.eval()
    batch = {k: v[[0, 1, 2]] for k, v in inter.items()}  # targets 5, 5, 7
    pos = (inter['item_id_list'][[3, 3, 2]], inter['item_length'][[3, 3, 2]])
    monkeypatch.setattr(model, 'same_target_positives', lambda *a, **k: pos)
    h1 = model(batch['item_id_list'], batch['item_length'])
    h2 = model(*pos)
    rec = model.rec_loss(batch)[0]
    masked = sequence_info_nce(h1, h2, labels=torch.tensor([5, 5, 7]))
    assert model.calculate_loss(batch).item() == pytest.approx((rec + masked).item(), rel=1e-5)
    # the rows sharing target 5 are not each other's negatives: by hand, row 0's denominator
    z = torch.cat([h1, h2])
    s = z @ z.t()
    by_hand = -(s[0, 3] - torch.logsumexp(s[0, [2, 3, 5]], 0))  # positive 3; negatives: target-7 views 2 and 5
    per_view = sequence_info_nce(h1, h2, labels=torch.tensor([5, 5, 7]), reduction='none')
    assert per_view[0].item() == pytest.approx(by_hand.item(), rel=1e-5, abs=1e-6)  # float32 near 0
    model.fn_mask = False
    assert model.calculate_loss(batch).item() == pytest.approx((rec + sequence_info_nce(h1, h2)).item(), rel=1e-5)


def test_intents_kmeans_and_fine_grain_loss():
    model, inter = _tiny_icsrec(lmd=0.0, beta=1.0)
    model.eval()
    batch = {k: v[[0, 2, 4]] for k, v in inter.items()}
    assert not model.has_intents and model.calculate_loss(batch).item() == pytest.approx(
        model.rec_loss(batch)[0].item())  # no intents yet: no fine-grain term
    centroids = model.fit_intents()
    assert centroids.shape == (2, 8) and model.has_intents
    h = model.encode_training_sequences()
    assert torch.equal(model.assign_intents(h), torch.cdist(h, centroids).argmin(1))
    assert torch.allclose(model.intent_vectors.norm(dim=1), torch.ones(2))
    pos = model.same_target_positives(batch['item_id_list'], batch['item_length'], batch['item_id'],
                                      generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    loss = model.calculate_loss(batch)
    h1, h2 = model(batch['item_id_list'], batch['item_length']), model(*pos)
    ficl = sum(sequence_info_nce(x, model.intent_vectors[model.assign_intents(x)],
                                 labels=model.assign_intents(x)) for x in (h1, h2))
    torch.manual_seed(0)
    assert loss.item() == pytest.approx((model.rec_loss(batch)[0] + ficl).item(), rel=1e-5)


def test_kmeans_recovers_separated_clusters():
    torch.manual_seed(0)
    x = torch.cat([torch.randn(30, 2) * 0.1 + 5, torch.randn(30, 2) * 0.1 - 5])
    c = kmeans(x, 2, niter=10, nredo=2).sort(dim=0).values
    assert torch.allclose(c, torch.tensor([[-5.0, -5.0], [5.0, 5.0]]), atol=0.1)
    assert kmeans(x[:3], 8).shape == (3, 2)  # K capped at N
    with pytest.raises(ValueError, match="'k' >= 1"):
        kmeans(x, 0)


def test_kmeans_seed_is_the_authors_unless_set(tiny, tiny_data, monkeypatch):
    """The authors' code seeds every clustering with 1 (``kmeans_seed: 1``); ``kmeans_seed: ~`` takes the run's."""
    import recsys.models.icsrec as icsrec
    seeds = []
    monkeypatch.setattr(icsrec, 'kmeans', lambda x, k, niter, nredo, seed: seeds.append(seed) or x[:k])
    for kmeans_seed, expected in ((1, 1), (None, 7), (3, 3)):
        config = build_config(ICSRec, 'ml-100k', dict(tiny, seed=7, kmeans_seed=kmeans_seed))
        ICSRec(config, tiny_data[2].dataset).fit_intents()
        assert seeds.pop() == expected
    assert build_config(ICSRec, 'ml-100k', dict(tiny, seed=7))['kmeans_seed'] == 1


def test_training_schedule_is_the_authors():
    config = build_config(ICSRec, 'ml-100k', {'device': 'cpu'})
    assert (config['epochs'], config['stopping_step'], config['valid_metric']) == (300, 40, 'NDCG@20')


def test_built_on_recbole_training_data(tiny, tiny_data):
    train = tiny_data[2]
    model = ICSRec(build_config(ICSRec, 'ml-100k', tiny), train.dataset)
    assert model.train_seq.shape == (len(train.dataset), 10)
    counts = model.target_offsets[1:] - model.target_offsets[:-1]
    assert torch.equal(counts, torch.bincount(train.dataset.inter_feat['item_id'], minlength=395))
    assert 'train_seq' not in model.state_dict()  # lookup tables are rebuilt, never checkpointed


@pytest.mark.parametrize('separate', [False, True])
def test_anchor_pass_of_the_intent_losses(separate):
    """``separate_anchor_pass: True`` (the authors' code): the anchor of the intent loss is a second encoder pass
    with its own dropout draw, after the recommendation loss's pass; ``False`` reuses that pass."""
    model, inter = _tiny_icsrec(lmd=1.0, beta=0.0, hidden_dropout_prob=0.5, separate_anchor_pass=separate)
    model.train()
    batch = {k: v[[0, 2, 3, 4]] for k, v in inter.items()}  # targets 5, 7, 5, 9
    seq, length = batch['item_id_list'], batch['item_length']
    torch.manual_seed(0)
    rec, h_rec = model.rec_loss(batch)
    h1 = model(seq, length) if separate else h_rec
    h2 = model(*model.same_target_positives(seq, length, batch['item_id']))
    expected = rec + sequence_info_nce(h1, h2, labels=batch['item_id'])
    torch.manual_seed(0)
    assert model.calculate_loss(batch).item() == pytest.approx(expected.item(), rel=1e-5)
    torch.manual_seed(0)
    model.separate_anchor_pass = not separate  # the other setting draws other dropout masks: another loss
    assert model.calculate_loss(batch).item() != pytest.approx(expected.item(), rel=1e-3)
