import numpy as np
import pytest
import torch

from pyg_nar.splits import flowerformer_split, group_split, narformer_split


def test_flowerformer_split_matches_reference_seed0_split():
    # reference-runs.md: perm = RandomState(0).permutation(15625); 781 / 40 / 14,804
    s = flowerformer_split(15625, 0.1, train_pool=7813, seed=0)
    perm = np.random.RandomState(0).permutation(15625)
    assert s["train"].tolist() == perm[:781].tolist()
    assert s["val"].tolist() == perm[781:821].tolist()
    assert s["test"].tolist() == perm[821:].tolist()


def test_flowerformer_split_identity_and_disjoint():
    s = flowerformer_split(1000, 0.5, train_pool=200, seed=None)
    assert s["train"].tolist() == list(range(100))
    assert s["val"].tolist() == list(range(100, 140))
    assert len(s["test"]) == 860
    allidx = torch.cat([s["train"], s["val"], s["test"]])
    assert sorted(allidx.tolist()) == list(range(1000))


def test_narformer_split_test_is_whole_space():
    s = narformer_split(15625, 0.05, seed=1)
    assert len(s["train"]) == 781 and len(s["val"]) == 200
    assert s["test"].tolist() == list(range(15625))
    assert len(s["heldout"]) == 15625 - 981
    assert not set(s["heldout"].tolist()) & set(s["train"].tolist())
    assert len(narformer_split(15625, 1563)["train"]) == 1563


def test_split_errors():
    with pytest.raises(ValueError, match="train size"):
        narformer_split(100, 0)
    with pytest.raises(ValueError, match="exceed"):
        narformer_split(100, 50, num_val=60)


def test_group_split_cuts_every_group():
    groups = torch.tensor([0] * 10 + [1] * 20)
    s = group_split(groups, test_frac=0.2, val_frac=0.1, seed=0)
    assert [len(s[k]) for k in ("train", "val", "test")] == [7 + 14, 1 + 2, 2 + 4]
    for k in ("train", "val", "test"):
        assert set(groups[s[k]].tolist()) == {0, 1}
    allidx = torch.cat([s["train"], s["val"], s["test"]])
    assert sorted(allidx.tolist()) == list(range(30))
