import pytest
import torch

from pyg_nar.losses import (PredictorLoss, ac_loss, hinge_ranking_loss, mse_loss,
                            relative_mse_loss, sr_loss)


def t(*v):
    return torch.tensor(v, dtype=torch.float)


def test_mse():
    assert float(mse_loss(t(0.5, 1.0), t(0.0, 1.0))) == pytest.approx(0.125)


def test_sr_zero_when_differences_match():
    y = t(0.1, 0.7, 0.3, 0.9)
    assert float(sr_loss(y + 3.0, y)) == pytest.approx(0.0, abs=1e-6)


def test_sr_hand_example():
    # pred[I]-pred = [1, 2, -3]; y[I]-y = [2, 0, -2]; |residuals| = [1, 2, 1]
    out = sr_loss(t(1, 2, 4), t(1, 3, 3), perm=torch.tensor([1, 2, 0]))
    assert float(out) == pytest.approx(4 / 3)


def test_ac():
    assert float(ac_loss(t(0.2, 0.4), t(0.2, 0.4))) == 0.0
    assert float(ac_loss(t(1, 2), t(1.5, 1))) == pytest.approx(0.75)


def test_hinge_hand_example():
    # pairs (0,1): 0.5-0.4, (0,2): 0.5-0.2, (1,2): 0.5+0.2 -> mean 1.1/3
    out = hinge_ranking_loss(t(0.1, 0.5, 0.3), t(1, 2, 3), margin=0.5)
    assert float(out) == pytest.approx(1.1 / 3)
    # a correct ranking with gaps beyond the margin costs nothing
    assert float(hinge_ranking_loss(t(0, 1, 2), t(1, 2, 3), margin=0.5)) == 0.0


def test_relative_mse():
    assert float(relative_mse_loss(t(2, 3), t(2, 2))) == pytest.approx(0.125)
    with pytest.raises(ValueError, match="zero"):
        relative_mse_loss(t(1.0), t(0.0))


def test_predictor_loss_combines_terms():
    pred, aug, y = t(0.2, 0.6, 0.4), t(0.3, 0.5, 0.4), t(0.1, 0.7, 0.5)
    torch.manual_seed(3)
    total, parts = PredictorLoss("mse", sr_weight=0.1, ac_weight=0.5)(pred, y, aug)
    torch.manual_seed(3)
    all_p, all_y = torch.cat([pred, aug]), torch.cat([y, y])
    expected = mse_loss(all_p, all_y) + 0.1 * sr_loss(all_p, all_y) + 0.5 * ac_loss(pred, aug)
    assert float(total) == pytest.approx(float(expected))
    assert float(parts["ac"]) == pytest.approx(0.2 / 3)
    assert set(parts) == {"mse", "sr", "ac"}


def test_predictor_loss_errors():
    with pytest.raises(ValueError, match="unknown loss"):
        PredictorLoss("l3")
    with pytest.raises(ValueError, match="aug_tokens"):
        PredictorLoss("mse", ac_weight=0.5)(t(1.0), t(1.0))
    with pytest.raises(ValueError, match="2 predictions but 3 targets"):
        mse_loss(t(1, 2), t(1, 2, 3))
