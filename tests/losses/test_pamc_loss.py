import math

import pytest
import torch
import torch.nn.functional as F

from graphcl.losses.pamc import (InfluenceContrastiveLoss, PamCLoss, edge_cosine, influence_contrastive_loss,
                                 meta_nodes, pamc_graph, pamc_loss)


def _graph(n=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(n, (12,), generator=g)
    dst = torch.randint(n, (12,), generator=g)
    return torch.stack([src, dst])


def _dense_w(edge_index, n, order, influence):
    """Dense reference of pamc_graph: max(A, A^T) + I, row-normalised, powers summed."""
    a = torch.zeros(n, n, dtype=torch.float64)
    for s, d in edge_index.t().tolist():
        if s != d:
            a[s, d] = a[d, s] = 1.0
    a = a + torch.eye(n, dtype=torch.float64)
    a = a / a.sum(1, keepdim=True)
    power, total = a.clone(), a.clone()
    for _ in range(order - 1):
        power = power @ a
        total = total + power if influence else power
    return total


def _naive_pamc(z, w, labels_or_q, tau, mode, k=None):
    """Loops over nodes and clusters, straight from the formula (float64); w dense N x N."""
    z = z.double()
    n = z.size(0)

    def cos(a, b):
        if float(a.norm()) == 0 or float(b.norm()) == 0:
            return 0.0  # empty cluster: zero meta-node
        return float(a @ b) / (float(a.norm()) * float(b.norm()))

    pos_terms = []
    for i in range(n):
        pos = 0.0
        for j in range(n):
            if w[i, j] != 0:
                pos += float(w[i, j]) * math.exp(tau * (0.0 if i == j else cos(z[i], z[j])))
        pos_terms.append(-math.log(pos + 1e-10))
    if mode == "hard":
        k = k or int(labels_or_q.max()) + 1
        cs = [sum((z[i] for i in range(n) if labels_or_q[i] == c), torch.zeros(z.size(1), dtype=torch.float64))
              for c in range(k)]
    else:
        q = labels_or_q.double()
        cs = [sum(q[i, c] * z[i] for i in range(n)) for c in range(q.size(1))]
    neg_terms = []
    for a in range(len(cs)):
        neg = sum(math.exp(tau * (0.0 if a == b else cos(cs[a], cs[b]))) for b in range(len(cs)))
        neg_terms.append(math.log(neg + 1e-10))
    return sum(pos_terms) / n + sum(neg_terms) / len(neg_terms)


@pytest.mark.parametrize("order,influence", [(1, True), (2, True), (3, False)])
def test_pamc_graph_matches_dense_powers(order, influence):
    ei = _graph()
    out_ei, out_w = pamc_graph(ei, 7, order, influence)
    dense = torch.zeros(7, 7, dtype=torch.float64)
    dense[out_ei[0], out_ei[1]] = out_w.double()
    assert torch.allclose(dense, _dense_w(ei, 7, order, influence), atol=1e-6)
    assert bool((out_w > 0).all())


def test_pamc_graph_hand_computed_path():
    ei, w = pamc_graph(torch.tensor([[0, 1, 1], [1, 2, 0]]), 3)  # 0-1 given in both directions: not doubled
    assert ei.tolist() == [[0, 0, 1, 1, 1, 2, 2], [0, 1, 0, 1, 2, 1, 2]]
    assert torch.allclose(w, torch.tensor([1 / 2, 1 / 2, 1 / 3, 1 / 3, 1 / 3, 1 / 2, 1 / 2]))
    with pytest.raises(ValueError, match="order"):
        pamc_graph(ei, 3, order=0)


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_meta_nodes_match_dense_one_hot_product(mode):
    g = torch.Generator().manual_seed(1)
    z = torch.randn(9, 4, generator=g, requires_grad=True)
    q = torch.softmax(torch.randn(9, 3, generator=g), dim=1).requires_grad_(True)
    h = F.one_hot(q.argmax(1), 3).to(z.dtype) if mode == "hard" else q
    out = meta_nodes(z, q, mode=mode)
    ref = h.t() @ z
    assert torch.allclose(out, ref, atol=1e-6)
    grad = torch.randn(3, 4, generator=g)
    gz, = torch.autograd.grad(out, z, grad, retain_graph=True)
    gz_ref, = torch.autograd.grad(ref, z, grad, retain_graph=True)
    assert torch.allclose(gz, gz_ref, atol=1e-6)
    if mode == "soft":
        gq, = torch.autograd.grad(out, q, grad)
        assert torch.allclose(gq, z.detach() @ grad.t(), atol=1e-6)  # d<G, Q^T Z>/dQ = Z G^T


def test_meta_nodes_labels_and_errors():
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    assert meta_nodes(z, torch.tensor([1, 0, 1]), 3).tolist() == [[0.0, 2.0], [4.0, 3.0], [0.0, 0.0]]
    with pytest.raises(ValueError, match="num_clusters"):
        meta_nodes(z, torch.tensor([1, 0, 1]))
    with pytest.raises(ValueError, match="soft"):
        meta_nodes(z, torch.tensor([1, 0, 1]), 2, mode="soft")
    with pytest.raises(ValueError, match="mode"):
        meta_nodes(z, torch.tensor([1, 0, 1]), 2, mode="fuzzy")


def test_edge_cosine_matches_dense_and_chunks():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(6, 5, generator=g, dtype=torch.float64, requires_grad=True)
    ei = _graph(6, seed=3)
    h = F.normalize(z, dim=1)
    ref = (h @ h.t())[ei[0], ei[1]]
    for chunk in (1, 5, None):
        out = edge_cosine(z, ei, chunk)
        assert torch.allclose(out, ref, atol=1e-12)
    assert torch.autograd.gradcheck(lambda x: edge_cosine(x, ei, 4), (z,))  # blocked-gather path
    assert torch.autograd.gradcheck(lambda x: edge_cosine(x, ei), (z,))  # SDDMM path, unsorted edges
    sorted_ei = ei[:, torch.argsort(ei[0] * 6 + ei[1])]
    assert torch.autograd.gradcheck(lambda x: edge_cosine(x, sorted_ei), (z,))
    sym_ei, _ = pamc_graph(ei, 6)  # symmetric pattern: one sparse product for G + G^T
    assert torch.autograd.gradcheck(lambda x: edge_cosine(x, sym_ei), (z,))
    assert torch.autograd.gradcheck(lambda x: edge_cosine(x, sym_ei, 3), (z,))


def test_edge_cosine_zero_row_follows_f_normalize():
    # a zero embedding has cosine 0 with everything; its gradient is F.normalize's (g / eps), as on the gather path
    g = torch.Generator().manual_seed(4)
    base = torch.randn(5, 3, generator=g, dtype=torch.float64)
    base[2] = 0.0
    ei, _ = pamc_graph(_graph(5, seed=1), 5)
    weights = torch.rand(ei.size(1), generator=g, dtype=torch.float64)
    grads, values = [], []
    for chunk in (None, 2):
        z = base.clone().requires_grad_(True)
        out = edge_cosine(z, ei, chunk)
        (out * weights).sum().backward()
        values.append(out.detach())
        grads.append(z.grad)
    assert torch.equal(values[0][(ei[0] == 2) | (ei[1] == 2)], torch.zeros(int(((ei[0] == 2) | (ei[1] == 2)).sum()),
                                                                           dtype=torch.float64))
    assert torch.allclose(values[0], values[1], atol=1e-12)
    assert torch.allclose(grads[0], grads[1], rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("mode", ["hard", "soft"])
@pytest.mark.parametrize("tau", [0.5, 2.0])
@pytest.mark.parametrize("order", [1, 2])
def test_pamc_loss_matches_naive_with_gradients(mode, tau, order):
    g = torch.Generator().manual_seed(4)
    n, k = 8, 3
    z = torch.randn(n, 4, generator=g, dtype=torch.float64, requires_grad=True)
    logits = torch.randn(n, k, generator=g, dtype=torch.float64, requires_grad=True)
    q = torch.softmax(logits, dim=1)
    ei, w = pamc_graph(_graph(n, seed=5), n, order, True)
    assignment = q if mode == "soft" else q.detach().argmax(1)
    out = pamc_loss(z, ei, assignment, w.double(), k, tau, mode)
    dense_w = torch.zeros(n, n, dtype=torch.float64)
    dense_w[ei[0], ei[1]] = w.double()
    assert out.item() == pytest.approx(_naive_pamc(z.detach(), dense_w, assignment.detach(), tau, mode, k), abs=1e-9)
    # gradients against an independent dense autograd formulation
    h = F.normalize(z, dim=1)
    sim = (h @ h.t()).masked_fill(torch.eye(n, dtype=torch.bool), 0.0)
    pos = (dense_w * torch.exp(tau * sim)).sum(1)
    hmat = q if mode == "soft" else F.one_hot(assignment, k).double()
    c = hmat.t() @ z
    cn = F.normalize(c, dim=1)
    cs = (cn @ cn.t()).masked_fill(torch.eye(c.size(0), dtype=torch.bool), 0.0)
    ref = -torch.log(pos + 1e-10).mean() + torch.log(torch.exp(tau * cs).sum(1) + 1e-10).mean()
    inputs = (z, logits)
    grads = torch.autograd.grad(out, inputs, allow_unused=True, retain_graph=True)
    grads_ref = torch.autograd.grad(ref, inputs, allow_unused=True)
    assert torch.allclose(grads[0], grads_ref[0], atol=1e-9)
    if mode == "soft":
        assert grads[1] is not None and grads[1].abs().sum() > 0
        assert torch.allclose(grads[1], grads_ref[1], atol=1e-9)
    else:
        assert grads[1] is None  # hard meta-nodes carry no gradient to Q


def test_pamc_loss_hand_computed():
    # two orthogonal nodes, self-loops only: pos_i = w_ii e^0 = 1; meta-nodes orthogonal: neg_k = e^0 + e^0
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    ei = torch.tensor([[0, 1], [0, 1]])
    assert pamc_loss(z, ei, torch.tensor([0, 1]), num_clusters=2, tau=3.0).item() == pytest.approx(math.log(2.0))
    # one edge 0->1 with cos 0 plus self loops (w = 1/2 each): pos_0 = 1/2 e^0 + 1/2 e^0 = 1
    ei = torch.tensor([[0, 0, 1], [0, 1, 1]])
    w = torch.tensor([0.5, 0.5, 1.0])
    # cluster 1 is empty: its meta-node is 0, cosine 0 -> neg_0 = neg_1 = e^0 + e^0 = 2
    assert pamc_loss(z, ei, torch.tensor([0, 0]), w, num_clusters=2, tau=1.0).item() == pytest.approx(math.log(2.0))


def test_pamc_loss_empty_cluster_is_finite():
    z = torch.randn(5, 3, requires_grad=True)
    ei, w = pamc_graph(torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]), 5)
    labels = torch.tensor([0, 0, 2, 2, 2])  # clusters 1 and 3 empty
    out = pamc_loss(z, ei, labels, w, num_clusters=4)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(z.grad).all()
    dense_w = torch.zeros(5, 5, dtype=torch.float64)
    dense_w[ei[0], ei[1]] = w.double()
    assert out.item() == pytest.approx(_naive_pamc(z.detach(), dense_w, labels, 1.0, "hard", k=4), abs=1e-6)


def test_pamc_module_and_errors():
    loss = PamCLoss(tau=0.5, mode="soft")
    assert "tau=0.5" in repr(loss) and "soft" in repr(loss)
    z, q = torch.randn(4, 3), torch.softmax(torch.randn(4, 2), dim=1)
    ei, w = pamc_graph(torch.tensor([[0, 1, 2], [1, 2, 3]]), 4)
    assert loss(z, ei, q, w).item() == pytest.approx(pamc_loss(z, ei, q, w, tau=0.5, mode="soft").item())
    with pytest.raises(ValueError, match="tau"):
        PamCLoss(tau=0.0)
    with pytest.raises(ValueError, match="mode"):
        PamCLoss(mode="medium")
    with pytest.raises(ValueError, match="edge_index"):
        pamc_loss(z, torch.tensor([[0, 9], [1, 2]]), q, mode="soft")


@pytest.mark.parametrize("tau", [0.5, 1.0])
def test_influence_contrastive_loss_matches_naive(tau):
    g = torch.Generator().manual_seed(6)
    n = 6
    z = torch.randn(n, 3, generator=g, dtype=torch.float64)
    ei, w = pamc_graph(_graph(n, seed=7), n, 2, True)
    dense_w = torch.zeros(n, n, dtype=torch.float64)
    dense_w[ei[0], ei[1]] = w.double()
    total = 0.0
    for i in range(n):
        e = [math.exp(tau * (0.0 if i == j else float(F.cosine_similarity(z[i], z[j], dim=0)))) for j in range(n)]
        total += -math.log(sum(float(dense_w[i, j]) * e[j] for j in range(n)) / sum(e) + 1e-8)
    out = influence_contrastive_loss(z, ei, w.double(), tau)
    assert out.item() == pytest.approx(total / n, abs=1e-9)
    assert InfluenceContrastiveLoss(tau)(z, ei, w.double()).item() == pytest.approx(out.item())


def _reference_way(z, pairs, n, labels, order, influence, tau):
    """The loss as the authors' ``train.py`` computes it (``load_graph`` -> ``get_A_r_flex`` -> ``get_feature_dis``
    -> one-hot broadcast meta-nodes -> ``NcontrastCC``), re-done step by step with dense tensors; nothing shared
    with graphcl's formulation."""
    a = torch.zeros(n, n, dtype=torch.float64)
    a[pairs[:, 0], pairs[:, 1]] = 1.0  # scipy coo of the edge file, one entry per listed pair
    upper = (a.t() > a).double()
    a = a + a.t() * upper - a * upper  # their symmetrisation: adj + adj.T.multiply(adj.T > adj) - adj.multiply(...)
    a = a + torch.eye(n, dtype=torch.float64)
    rowsum = a.sum(1)
    r_inv = torch.where(rowsum > 0, 1.0 / rowsum, torch.zeros_like(rowsum))
    a = r_inv.unsqueeze(1) * a  # normalize(): D^-1 (A + I), rows only
    power, label = a, a
    for _ in range(order - 1):  # get_A_r_flex(adj, order, cumulative=influence)
        power = power @ a
        label = label + power if influence else power

    def feature_dis(x):  # cosine similarities with the diagonal masked to 0
        norms = torch.sqrt((x ** 2).sum(1)).reshape(-1, 1)
        return (x @ x.t()) * (norms @ norms.t()) ** -1 * (1 - torch.eye(x.size(0), dtype=x.dtype))

    cc = (z.unsqueeze(1) * F.one_hot(labels).to(z.dtype).unsqueeze(2)).sum(0)  # N x K x d broadcast, summed
    x_pos = (torch.exp(tau * feature_dis(z)) * label).sum(1)
    x_neg = torch.exp(tau * feature_dis(cc)).sum(1)
    return -torch.log(x_pos + 1e-10).mean() + torch.log(x_neg + 1e-10).mean()


@pytest.mark.parametrize("order,influence,tau", [(2, False, 1.0),  # the authors' argparse defaults
                                                 (3, True, 0.5),  # their "cite" command
                                                 (1, True, 2.0)])
def test_pamc_loss_equals_the_authors_computation(order, influence, tau):
    g = torch.Generator().manual_seed(8)
    n, k = 12, 4
    pairs = torch.combinations(torch.arange(n), 2)
    pairs = pairs[torch.randperm(len(pairs), generator=g)[:20]]  # 20 distinct undirected pairs, no self-loops
    flip = torch.rand(20, generator=g) < 0.5
    pairs[flip] = pairs[flip].flip(1)  # listed in either direction, as in an edge file
    pairs = torch.cat([pairs, pairs[:3].flip(1)])  # and three of them in both directions
    labels = torch.arange(n) % k  # every cluster non-empty (the authors' one-hot then has K columns)
    z = torch.randn(n, 5, generator=g, dtype=torch.float64, requires_grad=True)
    ei, w = pamc_graph(pairs.t().contiguous(), n, order, influence)
    ours = pamc_loss(z, ei, labels, w.double(), k, tau, "hard")
    theirs = _reference_way(z, pairs, n, labels, order, influence, tau)
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-6)  # w is float32 in pamc_graph
    g_ours, = torch.autograd.grad(ours, z)
    g_theirs, = torch.autograd.grad(theirs, z)
    assert torch.allclose(g_ours, g_theirs, atol=1e-6)
