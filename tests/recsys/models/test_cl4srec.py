import pytest
import torch

from recsys.config import build_config
from recsys.losses import sequence_info_nce
from recsys.models import CL4SRec, SASRecBackbone


def test_mask_token_gets_its_own_embedding_row(tiny, tiny_data):
    train, test = tiny_data[2], tiny_data[4]
    model = CL4SRec(build_config(CL4SRec, 'ml-100k', tiny), train.dataset)
    assert model.mask_token_id == model.n_items == 395
    assert model.item_embedding.num_embeddings == 396
    assert model.full_sort_predict(next(iter(test))[0]).shape[1] == 395
    seq1, _, seq2, _ = model.make_views(next(iter(train)))
    assert int(torch.cat([seq1, seq2]).max()) <= 395
    pad = CL4SRec(build_config(CL4SRec, 'ml-100k', dict(tiny, mask_token='pad')), train.dataset)
    assert pad.mask_token_id == 0 and pad.item_embedding.num_embeddings == 395


def test_loss_is_rec_plus_lambda_infonce(tiny, tiny_data, monkeypatch):
    train = tiny_data[2]
    model = CL4SRec(build_config(CL4SRec, 'ml-100k', dict(tiny, lmd=0.3)), train.dataset).eval()
    batch = next(iter(train))
    views = model.make_views(batch)
    monkeypatch.setattr(model, 'make_views', lambda interaction: views)
    rec = model.rec_loss(batch)[0]
    cl = sequence_info_nce(model(views[0], views[1]), model(views[2], views[3]))
    assert model.calculate_loss(batch).item() == pytest.approx((rec + 0.3 * cl).item(), rel=1e-5)
    # with lambda = 0 it is SASRec's loss on the same weights
    plain = SASRecBackbone(tiny_data[0], train.dataset).eval()
    zero = CL4SRec(build_config(CL4SRec, 'ml-100k', dict(tiny, lmd=0.0, mask_token='pad')), train.dataset).eval()
    zero.load_state_dict(plain.state_dict())
    assert zero.calculate_loss(batch).item() == pytest.approx(plain.calculate_loss(batch).item(), rel=1e-6)


def test_config_errors(tiny, tiny_data):
    with pytest.raises(ValueError, match="'mask_token' to be one of"):
        CL4SRec(build_config(CL4SRec, 'ml-100k', dict(tiny, mask_token='cls')), tiny_data[2].dataset)
    with pytest.raises(ValueError, match="'sim' to be one of"):
        CL4SRec(build_config(CL4SRec, 'ml-100k', dict(tiny, sim='l1')), tiny_data[2].dataset)
