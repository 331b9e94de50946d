import pytest
import torch

from graphcl.nn import TransformerBlock, TransformerEncoder, map_recbole_state_dict


def _recbole_mask(item_seq):
    """RecBole SASRec.get_attention_mask (unidirectional), written out here."""
    L = item_seq.shape[1]
    m = (item_seq != 0).unsqueeze(1).unsqueeze(2)
    m = torch.tril(m.expand(-1, -1, L, -1))
    return torch.where(m, 0.0, -10000.0)


def _causal_graph(lengths, L):
    src, dst = [], []
    for b, n in enumerate(lengths):
        ii, jj = torch.tril_indices(n, n)
        src.append(jj + b * L)
        dst.append(ii + b * L)
    return torch.stack([torch.cat(src), torch.cat(dst)])


def test_block_dense_equals_sparse():
    torch.manual_seed(0)
    B, L, d = 3, 6, 8
    lengths = [6, 4, 2]
    block = TransformerBlock(d, 2, 16, hidden_dropout=0.2, attn_dropout=0.2).eval()
    x = torch.randn(B, L, d)
    real = torch.arange(L)[None, :] < torch.tensor(lengths)[:, None]
    dense = block(x, key_padding_mask=real, causal=True)
    sparse = block(x.reshape(B * L, d), _causal_graph(lengths, L)).view(B, L, d)
    assert torch.allclose(dense[real], sparse[real], atol=1e-5)


@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_encoder_reproduces_recbole(activation):
    layers = pytest.importorskip("recbole.model.layers")
    torch.manual_seed(0)
    B, L, d, H, inner = 3, 7, 8, 2, 12
    ref = layers.TransformerEncoder(n_layers=2, n_heads=H, hidden_size=d, inner_size=inner,
                                    hidden_dropout_prob=0.3, attn_dropout_prob=0.3,
                                    hidden_act=activation, layer_norm_eps=1e-12).eval()
    for p in ref.parameters():  # non-trivial LayerNorm/bias values too
        torch.nn.init.normal_(p, std=0.3)
    ours = TransformerEncoder(2, d, H, inner, 0.3, 0.3, activation=activation).eval()
    ours.load_state_dict(map_recbole_state_dict(ref.state_dict()), strict=True)

    item_seq = torch.tensor([[3, 1, 4, 1, 5, 9, 2], [6, 5, 3, 0, 0, 0, 0], [7, 0, 0, 0, 0, 0, 0]])
    x = torch.randn(B, L, d)
    mask = _recbole_mask(item_seq)
    expected = ref(x, mask, output_all_encoded_layers=True)
    got = ours(x, attn_mask=mask, return_all=True)
    for e, g in zip(expected, got):
        assert torch.allclose(g, e, atol=1e-5)
    # the boolean mask gives the same outputs at real positions, and so does the sparse path
    real = item_seq != 0
    got_bool = ours(x, key_padding_mask=real, causal=True)
    assert torch.allclose(got_bool[real], expected[-1][real], atol=1e-5)
    sparse = ours(x.reshape(B * L, d), _causal_graph(real.sum(1).tolist(), L)).view(B, L, d)
    assert torch.allclose(sparse[real], expected[-1][real], atol=1e-5)


def test_map_recbole_state_dict():
    sd = {"trm_encoder.layer.1.multi_head_attention.dense.weight": torch.zeros(1),
          "trm_encoder.layer.0.feed_forward.LayerNorm.bias": torch.zeros(1),
          "item_embedding.weight": torch.zeros(1)}
    out = map_recbole_state_dict(sd, prefix="trm_encoder.")
    assert sorted(out) == ["layers.0.ffn_norm.bias", "layers.1.attn.lin_out.weight"]
    with pytest.raises(ValueError, match="Unknown RecBole"):
        map_recbole_state_dict({"layer.0.other.weight": torch.zeros(1)})


def test_gradients_and_repr():
    torch.manual_seed(0)
    enc = TransformerEncoder(2, 8, 2, 16, 0.1, 0.1)
    x = torch.randn(2, 5, 8, requires_grad=True)
    enc(x, causal=True).sum().backward()
    assert all(p.grad is not None for p in enc.parameters())
    assert x.grad.abs().sum() > 0
    assert str(enc) == ("TransformerEncoder(n_layers=2, hidden=8, n_heads=2, inner_size=16, "
                        "activation='gelu')")
    assert str(enc.layers[0]) == "TransformerBlock(8, n_heads=2, inner_size=16, activation='gelu')"
    with pytest.raises(ValueError, match="n_layers"):
        TransformerEncoder(0, 8, 2, 16, 0.1, 0.1)
