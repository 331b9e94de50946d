import math

import pytest
import torch
import torch.nn.functional as F

from graphcl.molecules.element_kg import build_element_kg
from graphcl.molecules.kg_embedding import (KGEmbeddingModel, sample_negatives, train_kg_embedding,
                                            train_kg_embedding_model)


def _set(model, entity, relation):
    with torch.no_grad():
        model.entity.copy_(torch.tensor(entity, dtype=torch.float))
        model.relation.copy_(torch.tensor(relation, dtype=torch.float))


def test_transe_score_by_hand():
    m = KGEmbeddingModel(3, 1, dim=2, score='transe', gamma=5.0)
    _set(m, [[1.0, 2.0], [1.0, 0.0], [0.0, 0.0]], [[0.5, -1.0]])
    # |1 + 0.5 - 1| + |2 - 1 - 0| = 1.5 ; |1 + 0.5 - 0| + |2 - 1 - 0| = 2.5
    assert torch.allclose(m.score(torch.tensor([0, 0]), torch.tensor([0, 0]), torch.tensor([1, 2])),
                          torch.tensor([3.5, 2.5]))


def test_rotate_score_by_hand():
    m = KGEmbeddingModel(3, 1, dim=2, score='rotate', gamma=1.0)
    _set(m, [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], [[math.pi / 2]])  # rows: (re, im): 1, i, 1
    s = m.score(torch.tensor([0, 0]), torch.tensor([0, 0]), torch.tensor([1, 2]))
    # 1 * e^{i pi/2} = i: distance 0 to i, sqrt(2) to 1
    assert torch.allclose(s, torch.tensor([1.0, 1.0 - math.sqrt(2)]), atol=1e-5)


@pytest.mark.parametrize('score', ['transe', 'rotate'])
def test_loss_matches_formula(score):
    g = torch.Generator().manual_seed(0)
    m = KGEmbeddingModel(7, 3, dim=8, score=score, generator=g)
    pos = torch.tensor([[0, 1, 2], [3, 2, 4]])
    mixed = pos[:, None, :].repeat(1, 4, 1)  # both sides corrupted within a row (the non-broadcast path)
    mixed[:, :2, 0] = torch.tensor([[5, 6], [1, 0]])
    mixed[:, 2:, 2] = torch.tensor([[3, 0], [6, 5]])
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[0, 1] = False
    for neg in (sample_negatives(pos, 7, 5, generator=g), mixed):
        keep = mask[:, :neg.size(1)]
        loss = m(pos, neg, keep, adversarial_temperature=0.5)
        sp = m.score(pos[:, 0], pos[:, 1], pos[:, 2])
        sn = m.score(neg[..., 0], neg[..., 1], neg[..., 2])  # the generic score path
        w = torch.softmax((0.5 * sn).masked_fill(~keep, float('-inf')), -1)
        expected = (-F.logsigmoid(sp) - (w * F.logsigmoid(-sn)).sum(-1)).mean()
        assert torch.allclose(loss, expected, atol=1e-5)
    bad = mixed.clone()
    bad[0, 0, 1] = (bad[0, 0, 1] + 1) % 3  # a negative with another relation
    with pytest.raises(ValueError, match='keep the relation'):
        m(pos, bad, mask)


def test_sample_negatives():
    pos = torch.tensor([[0, 1, 2], [3, 0, 4], [5, 2, 6]])
    a = sample_negatives(pos, 10, 50, torch.Generator().manual_seed(1))
    b = sample_negatives(pos, 10, 50, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (3, 50, 3)
    assert (a[..., 1] == pos[:, None, 1]).all()
    same_head, same_tail = a[..., 0] == pos[:, None, 0], a[..., 2] == pos[:, None, 2]
    assert (same_head | same_tail).all()
    assert (~same_head).any() and (~same_tail).any()  # both sides get corrupted
    big = sample_negatives(torch.zeros(200, 3, dtype=torch.long), 1000, 20, torch.Generator().manual_seed(0))
    tail_rows = (big[..., 0] == 0).all(1)  # one side per positive: every negative of a row keeps the head ...
    assert ((big[..., 2] == 0).all(1) | tail_rows).all()  # ... or every one keeps the tail
    assert 60 < int(tail_rows.sum()) < 140


def test_filtered_ranks_by_hand():
    m = KGEmbeddingModel(3, 1, dim=1, score='transe', gamma=5.0)
    _set(m, [[0.0], [1.0], [3.0]], [[1.0]])  # h + r = 1 for h = 0: tail distances 1, 0, 2
    triples = torch.tensor([[0, 0, 1], [0, 0, 2]])
    assert m.ranks(triples).tolist() == [1, 3]
    assert m.ranks(triples, known=triples).tolist() == [1, 2]  # (0, 0, 1) is filtered for the second triple
    assert m.ranks(triples, side='head').tolist() == [1, 3]  # heads for tail 3: distances |e + 1 - 3| = 2, 1, 1
    with pytest.raises(ValueError, match="'side'"):
        m.ranks(triples, side='both')


@pytest.mark.parametrize('score', ['rotate', 'transe'])
def test_training_learns_the_kg(score):
    kg = build_element_kg()
    untrained = KGEmbeddingModel(kg.num_entities, kg.num_relations, dim=64, score=score,
                                 generator=torch.Generator().manual_seed(0))
    net, history = train_kg_embedding_model(kg, model=score, dim=64, epochs=20, seed=0)
    assert history[-1] < 0.5 * history[0]
    for side in ('head', 'tail'):
        before = (1.0 / untrained.ranks(kg.triples, kg.triples, side).float()).mean()
        after = (1.0 / net.ranks(kg.triples, kg.triples, side).float()).mean()
        assert after > 0.9 and after > before + 0.4, (side, before, after)


def test_train_kg_embedding_shapes_and_seed():
    kg = build_element_kg()
    state = torch.get_rng_state()
    ent, rel = train_kg_embedding(kg, model='rotate', dim=16, epochs=2, seed=3)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is untouched
    assert ent.shape == (kg.num_entities, 16) and rel.shape == (kg.num_relations, 8) and not ent.requires_grad
    ent2, rel2 = train_kg_embedding(kg, model='rotate', dim=16, epochs=2, seed=3)
    assert torch.equal(ent, ent2) and torch.equal(rel, rel2)
    ent3, rel3 = train_kg_embedding(kg, model='transe', dim=16, epochs=1)
    assert ent3.shape == (kg.num_entities, 16) and rel3.shape == (kg.num_relations, 16)


def test_errors_and_repr():
    with pytest.raises(ValueError, match=r"'score'.*'distmult'"):
        KGEmbeddingModel(3, 1, score='distmult')
    with pytest.raises(ValueError, match=r"even 'dim'.*got 5"):
        KGEmbeddingModel(3, 1, dim=5)
    with pytest.raises(ValueError, match=r"'epochs'.*got 0"):
        train_kg_embedding(build_element_kg(), epochs=0)
    assert repr(KGEmbeddingModel(3, 2, dim=4)) == "KGEmbeddingModel(3, 2, dim=4, score='rotate', gamma=6.0)"
