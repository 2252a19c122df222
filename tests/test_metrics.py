import numpy as np
import pytest
import torch

from pyg_nar.metrics import acc_within, kendall_tau, mape, precision_at_k, spearman_rho


def test_kendall_tau_hand_computed():
    # 6 pairs, only (2nd, 3rd) is discordant: (5 - 1) / 6
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert kendall_tau(torch.tensor([4.0, 3, 2, 1]), torch.tensor([1.0, 2, 3, 4])) == pytest.approx(-1)


def test_spearman_rho_hand_computed():
    # rank differences (0, -1, 1, 0): 1 - 6 * 2 / (4 * 15)
    assert spearman_rho([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)


def test_mape_and_acc_within():
    assert mape([110, 90], [100, 100]) == pytest.approx(0.1)
    assert mape(np.array([1.5, 2.0]), np.array([1.0, 4.0])) == pytest.approx((0.5 + 0.5) / 2)
    # relative errors 0.05, 0.2, 0.09, 0 -> three within 10 %
    assert acc_within([105, 120, 91, 100], [100] * 4, 0.1) == pytest.approx(0.75)
    assert acc_within([105, 120, 91, 100], [100] * 4, 0.05) == pytest.approx(0.5)


def test_precision_at_k():
    pred = [0.9, 0.8, 0.1, 0.5]
    true = [1.0, 0.0, 0.9, 0.8]
    assert precision_at_k(pred, true, 2) == pytest.approx(0.5)   # {0, 1} vs {0, 2}
    assert precision_at_k(pred, true, 3) == pytest.approx(2 / 3)  # {0, 1, 3} vs {0, 2, 3}
    assert precision_at_k(pred, true, 4) == 1.0


def test_metric_errors_name_the_problem():
    with pytest.raises(ValueError, match="differ in length"):
        kendall_tau([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="zero"):
        mape([1.0], [0.0])
    with pytest.raises(ValueError, match="NaN"):
        spearman_rho([1.0, float("nan")], [1.0, 2.0])
    with pytest.raises(ValueError, match="k=5"):
        precision_at_k([1, 2], [1, 2], 5)
