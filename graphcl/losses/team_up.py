"""CSGCL's Team-up contrastive loss."""
from __future__ import annotations

from typing import Optional

from torch import Tensor

from ._contrast import TwoViewLoss
from .info_nce import info_nce

__all__ = ['TeamUpLoss', 'team_up', 'team_up_gamma']


def team_up_gamma(epoch: int, t0: int, gamma_max: float) -> float:
    r"""Team-up schedule :math:`\gamma_t = \min(\max(0, (t - t_0)/100), \gamma_{max})`: plain InfoNCE until epoch
    :math:`t_0`, then :math:`+0.01` per epoch up to :math:`\gamma_{max}`.

    Example:
        >>> [team_up_gamma(t, t0=100, gamma_max=0.5) for t in (50, 100, 130, 1000)]
        [0.0, 0.0, 0.3, 0.5]
    """
    return float(min(max(0.0, (epoch - t0) / 100.0), gamma_max))


def team_up(z1: Tensor, z2: Tensor, strength: Tensor, gamma: float, temperature: float = 0.5,
            batch_size: Optional[int] = None, reduction: str = 'mean') -> Tensor:
    r"""Team-up loss of `"Community-Strength-enhanced Graph Contrastive Learning" (CSGCL)
    <https://arxiv.org/abs/2305.04658>`_ for a given :math:`\gamma`: the GRACE loss on the shifted similarity

    .. math::
        s'(h_i, h_j) = \cos(h_i, h_j) + \gamma\,(S_i + S_j)

    where :math:`S_i` is the strength of node :math:`i`'s community. It is :func:`~graphcl.losses.info_nce` with
    ``pair_bias = gamma * strength``; at :math:`\gamma = 0` it is exactly InfoNCE.

    Args:
        z1 (torch.Tensor): view 1 embeddings :math:`(N, D)`.
        z2 (torch.Tensor): view 2 embeddings :math:`(N, D)`.
        strength (torch.Tensor): node community strength :math:`S` :math:`(N)`.
        gamma (float): :math:`\gamma \ge 0`.
        temperature (float, optional): :math:`\tau`. (default: :obj:`0.5`)
        batch_size (int, optional): rows per block. (default: :obj:`None`)
        reduction (str, optional): ``'mean'``, ``'sum'`` or ``'none'``. (default: :obj:`'mean'`)
    """
    if not gamma >= 0:
        raise ValueError(f"Expected 'gamma' to be >= 0 (got {gamma!r})")
    if strength.dim() != 1 or strength.numel() != z1.size(0):
        raise ValueError(f"Expected 'strength' of shape [{z1.size(0)}] (got {tuple(strength.shape)})")
    bias = None if gamma == 0 else gamma * strength.to(z1.dtype)
    return info_nce(z1, z2, temperature, batch_size, bias, reduction)


class TeamUpLoss(TwoViewLoss):
    r"""Team-up loss of `"Community-Strength-enhanced Graph Contrastive Learning" (CSGCL)
    <https://arxiv.org/abs/2305.04658>`_ with its epoch schedule:

    .. math::
        s'_{ij} = \cos(h_i, h_j) + \gamma_t (S_i + S_j),\quad
        \gamma_t = \min\Big(\max\big(0, \tfrac{t - t_0}{100}\big), \gamma_{max}\Big)

    followed by the symmetrised GRACE loss on :math:`s'/\tau` (see :func:`team_up`).

    Args:
        temperature (float, optional): :math:`\tau`. (default: :obj:`0.5`)
        t0 (int, optional): first epoch of the ramp :math:`t_0`. (default: :obj:`0`)
        gamma_max (float, optional): :math:`\gamma_{max} \ge 0`. (default: :obj:`1.0`)
        batch_size (int, optional): rows per block. (default: :obj:`None`)
        reduction (str, optional): ``'mean'``, ``'sum'`` or ``'none'``. (default: :obj:`'mean'`)

    Shapes:
        - **input:** :math:`(N, D)`, :math:`(N, D)`, strength :math:`(N)`, epoch (int)
        - **output:** scalar

    Example:
        >>> import torch
        >>> loss = TeamUpLoss(temperature=0.5, t0=10, gamma_max=1.0)
        >>> z1, z2, s = torch.randn(4, 3), torch.randn(4, 3), torch.rand(4)
        >>> loss.gamma(60)
        0.5
        >>> loss(z1, z2, s, epoch=60).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.5, t0: int = 0, gamma_max: float = 1.0,
                 batch_size: Optional[int] = None, reduction: str = 'mean'):
        super().__init__(temperature, batch_size, reduction)
        if not gamma_max >= 0:
            raise ValueError(f"Expected 'gamma_max' to be >= 0 (got {gamma_max!r})")
        self.t0, self.gamma_max = t0, gamma_max

    def gamma(self, epoch: int) -> float:
        return team_up_gamma(epoch, self.t0, self.gamma_max)

    def forward(self, z1: Tensor, z2: Tensor, strength: Tensor, epoch: int) -> Tensor:
        return team_up(z1, z2, strength, self.gamma(epoch), self.temperature, self.batch_size, self.reduction)

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, t0={self.t0}, gamma_max={self.gamma_max}, '
                f'batch_size={self.batch_size}')
