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


def test_log_mse_is_scale_free():
    from pyg_nar.losses import log_mse_loss
    y = t(0.011, 1.0, 25.0)
    pred = t(0.022, 0.5, 50.0)  # twice or half: the same error on every scale
    assert float(log_mse_loss(pred, y)) == pytest.approx(float(torch.log(torch.tensor(2.0)) ** 2))
    assert float(log_mse_loss(pred * 1000, y * 1000)) == pytest.approx(float(log_mse_loss(pred, y)))
    # predicting zero is no minimum (the relative MSE's trivial one): an underflow counts as 1e-30
    assert float(relative_mse_loss(t(0.0, 0.0), t(0.011, 25.0))) == 1.0
    assert float(log_mse_loss(t(0.0, 0.0), t(0.011, 25.0))) > 1000
    with pytest.raises(ValueError, match="target is <= 0"):
        log_mse_loss(t(1.0), t(0.0))
    with pytest.raises(ValueError, match="positive output map"):
        log_mse_loss(t(-1.0), t(1.0))


def test_screen_targets_on_degenerate_latencies():
    from pyg_nar.losses import screen_targets
    y = t(25.0, 30.0, 20.0, 0.011, 0.0, -1.0, float("nan"), float("inf"), 28.0)
    for loss in ("log_mse", "relative_mse"):
        keep, msg = screen_targets(y, loss)
        assert keep.tolist() == [True, True, True, False, False, False, False, False, True]
        assert msg == ("9 targets: 2 not finite (NaN or inf); 2 <= 0 (1 zero, 1 negative); 1 near "
                       "zero (< 0.01 x the median 25; smallest 0.011): dropped, 4 kept")
    # accuracy losses: every target stays (zero and negative scores are fine; a NaN is fit's error)
    keep, msg = screen_targets(y, "mse")
    assert bool(keep.all()) and msg is None
    keep, msg = screen_targets(t(1.0, 2.0, 3.0), "log_mse")
    assert keep.tolist() == [True] * 3 and msg is None
    assert PredictorLoss("log_mse").screen(t(0.0, 1.0))[0].tolist() == [False, True]
