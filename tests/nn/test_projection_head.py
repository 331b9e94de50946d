import torch
import torch.nn.functional as F

from graphcl.nn import ProjectionHead


def test_projection_head_is_grace_mlp():
    torch.manual_seed(0)
    head = ProjectionHead(6, 10, 4)
    z = torch.randn(5, 6)
    ref = F.linear(F.elu(F.linear(z, head.fc1.weight, head.fc1.bias)), head.fc2.weight,
                   head.fc2.bias)
    assert torch.allclose(head(z), ref, atol=1e-6)
    assert str(head) == "ProjectionHead(6, 10, 4, activation='elu')"
    relu = ProjectionHead(6, 10, 4, activation="relu")
    assert torch.allclose(relu(z), relu.fc2(relu.fc1(z).clamp(min=0)), atol=1e-6)
