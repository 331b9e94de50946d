import pytest
import torch
from torch_geometric.data import Data

from graphcl.augment import CommunalAttributeVoting, CommunityInfo, communal_drop_prob


def test_drop_prob_hand_checked():
    w = torch.tensor([0.0, 0.5, 1.0, 0.5])  # mean 0.5
    assert torch.allclose(communal_drop_prob(w, p=0.3), torch.tensor([0.0, 0.3, 0.6, 0.3]))
    assert torch.allclose(communal_drop_prob(w, p=0.3, threshold=0.5), torch.tensor([0.0, 0.3, 0.5, 0.3]))


def _voting_graph():
    # community 0 (strong) uses attributes 0-3, community 1 (weak) uses attributes 4-7
    labels = torch.tensor([0] * 6 + [1] * 6)
    info = CommunityInfo(labels, torch.tensor([0.3, 0.05]), torch.tensor([0.3] * 6 + [0.05] * 6))
    x = torch.zeros(12, 8)
    x[:6, :4] = 1.0
    x[6:, 4:] = 1.0
    x[0, 4] = 1.0  # one strong node also uses attribute 4: more votes than 5-7
    ei = torch.tensor([[0, 1], [1, 0]])
    return Data(x=x, edge_index=ei, num_nodes=12), info


def test_low_vote_attributes_dropped_more():
    data, info = _voting_graph()
    aug = CommunalAttributeVoting(0.3, communities=info, generator=torch.Generator().manual_seed(0))
    prob = aug.drop_prob(data)
    assert torch.all(prob[:4] == 0)  # highest votes: never dropped
    assert prob[4] < prob[5] and torch.allclose(prob[5:], prob[5].expand(3))
    dropped = torch.zeros(8)
    for _ in range(500):
        out = aug(data)
        zero_col = (out.x == 0).all(0) & (data.x != 0).any(0)
        dropped += zero_col.float()
        kept = ~zero_col
        assert torch.equal(out.x[:, kept], data.x[:, kept])
    rate = dropped / 500
    assert rate[:4].max() == 0 and rate[5:].min() > rate[4] > 0
    assert torch.allclose(rate, prob, atol=0.07)


def test_mean_rate_is_p_without_clipping():
    data, info = _voting_graph()
    prob = CommunalAttributeVoting(0.2, communities=info).drop_prob(data)
    assert prob.mean().item() == pytest.approx(0.2, abs=1e-6)


def test_detects_communities_when_not_given():
    ei = torch.tensor([[0, 1, 1, 2, 2, 0, 3, 4, 4, 5, 5, 3, 2, 3], [1, 0, 2, 1, 0, 2, 4, 3, 5, 4, 3, 5, 3, 2]])
    data = Data(x=torch.rand(6, 5, generator=torch.Generator().manual_seed(0)), edge_index=ei)
    aug = CommunalAttributeVoting(0.3)
    prob = aug.drop_prob(data)
    assert prob.shape == (5,) and torch.all((prob >= 0) & (prob <= 1))
    assert aug.drop_prob(data) is prob  # cached
