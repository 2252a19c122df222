"""Synthetic graphs and small training helpers shared by the tests."""
import torch
from torch_geometric.data import Data


def synthetic_graphs(num: int, token_dim: int = 16, depth_dim: int = 8, sizes=(3, 8),
                     seed: int = 0, aug: bool = True):
    """Graphs whose target depends on their tokens, so a predictor can learn it."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(token_dim, generator=g)
    out = []
    for i in range(num):
        n = int(torch.randint(sizes[0], sizes[1] + 1, (1,), generator=g))
        tokens = torch.randn(n, token_dim, generator=g)
        y = torch.sigmoid((tokens @ w).mean() + 0.1 * n - 0.5)
        d = Data(tokens=tokens, end_token=torch.full((1, token_dim), 0.5),
                 depth_enc=torch.randn(1, depth_dim, generator=g),
                 y=y.view(1), num_nodes=n, arch_id=torch.tensor([i]))
        if aug:
            d.aug_tokens = tokens[torch.randperm(n, generator=g)]
        out.append(d)
    return out


def relative_mse_drop(model, batch, steps: int, lr: float) -> tuple[float, float]:
    """Relative MSE of ``model`` on ``batch`` (eval mode) before and after ``steps`` Adam steps
    on that loss (train mode)."""
    from pyg_nar.losses import relative_mse_loss

    def loss():
        return relative_mse_loss(model(batch), batch.y)

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.eval()
    with torch.no_grad():
        before = loss().item()
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        return before, loss().item()
