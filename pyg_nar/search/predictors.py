"""Predictor factories for :func:`~pyg_nar.search.algorithms.predictor_guided_evolution`.

A *predictor factory* ``(arch_strs, accuracies) -> score_fn`` fits a predictor on the queried
cells; ``score_fn(arch_strs) -> np.ndarray`` scores candidates (higher is better).
:func:`ridge_onehot_predictor` needs numpy only; :func:`graph_predictor` and
:func:`narformer_predictor` import torch and the models when they are called, so importing
:mod:`pyg_nar.search` does not.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from pyg_nar.spaces.nasbench201 import NB201_OPS, NB201SearchSpace, parse_arch_str

if TYPE_CHECKING:
    import torch

__all__ = ["ScoreFn", "PredictorFactory", "onehot_features", "ridge_onehot_predictor",
           "graph_predictor", "narformer_predictor"]

#: ``score_fn(arch_strs) -> np.ndarray``: one score per cell, higher is better.
ScoreFn = Callable[[Sequence[str]], np.ndarray]
#: ``factory(arch_strs, accuracies) -> ScoreFn``: fits a predictor on the queried cells.
PredictorFactory = Callable[[Sequence[str], np.ndarray], ScoreFn]


def onehot_features(arch_strs: Sequence[str]) -> np.ndarray:
    """``[n, 30]``: for each of the six edges, the one-hot of its operation (:data:`NB201_OPS`).

    Args:
        arch_strs (Sequence[str]): NB201 arch strings (malformed ones raise
            :class:`~pyg_nar.errors.ArchitectureError`).
    """
    index = {op: k for k, op in enumerate(NB201_OPS)}
    x = np.zeros((len(arch_strs), 6 * len(NB201_OPS)))
    for r, s in enumerate(arch_strs):
        for e, op in enumerate(parse_arch_str(s)):
            x[r, e * len(NB201_OPS) + index[op]] = 1.0
    return x


def ridge_onehot_predictor(alpha: float = 1.0) -> PredictorFactory:
    r"""A predictor factory: ridge regression of accuracy on the one-hot edge operations
    (:func:`onehot_features`), i.e. the additive model

    .. math::
        \mathrm{acc} \approx b + \sum_{e=1}^{6} w_{e, \mathrm{op}_e},

    with :math:`b` the pool's mean accuracy and :math:`w = (X^\top X + \alpha I)^{-1}
    X^\top (y - b)`.

    Args:
        alpha (float, optional): the ridge penalty, ``> 0``. (default: :obj:`1.0`)
    """
    if alpha <= 0:
        raise ValueError(f"ridge_onehot_predictor: alpha must be > 0, got {alpha}")

    def factory(arch_strs: Sequence[str], accuracies) -> ScoreFn:
        x = onehot_features(arch_strs)
        y = np.asarray(accuracies, dtype=np.float64)
        mean = y.mean()
        w = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ (y - mean))
        return lambda strs: onehot_features(strs) @ w + mean

    return factory


def graph_predictor(build_model: Callable[[], "torch.nn.Module"], config, transform=None,
                    standardize: bool = True, batch_size: int = 1024) -> PredictorFactory:
    """A predictor factory around any pyg_nar predictor and the one training loop.

    Each call builds a fresh model with ``build_model()``, turns the queried cells into NB201
    cell graphs (:func:`~pyg_nar.datasets.nasbench201.nb201_cell_graph`, then ``transform``),
    trains it with :func:`pyg_nar.training.fit` (no validation split, the pool is tiny) and
    scores candidates with :func:`pyg_nar.training.predict`, on ``config.device`` with
    ``config.amp``. Round ``k`` trains with seed ``config.seed + k``, so a search stays
    repeatable.

    Args:
        build_model (callable): ``() -> torch.nn.Module``, a fresh predictor each round.
        config (TrainConfig): the :class:`~pyg_nar.training.TrainConfig` of every round.
        transform (callable, optional): applied to each cell graph (e.g. a tokenizer).
            (default: :obj:`None`)
        standardize (bool, optional): z-score the targets within the pool (only the ranking
            of the scores matters to the search). (default: :obj:`True`)
        batch_size (int, optional): the batch size of scoring. (default: :obj:`1024`)
    """
    from dataclasses import replace

    from pyg_nar.datasets.nasbench201 import nb201_cell_graph
    from pyg_nar.training import fit, predict, seed_everything

    rounds = [0]

    def graphs(strs, ys):
        out = []
        for s, y in zip(strs, ys):
            d = nb201_cell_graph(s, float(y))
            out.append(transform(d) if transform is not None else d)
        return out

    def factory(arch_strs: Sequence[str], accuracies) -> ScoreFn:
        y = np.asarray(accuracies, dtype=np.float64)
        if standardize:
            y = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
        round_config = replace(config, seed=config.seed + rounds[0])
        seed_everything(round_config.seed)  # the model's initial weights, too
        model = build_model()
        fit(model, graphs(arch_strs, y), None, round_config)
        rounds[0] += 1

        def score(strs: Sequence[str]) -> np.ndarray:
            return predict(model, graphs(strs, np.zeros(len(strs))), batch_size=batch_size,
                           amp=round_config.amp).numpy()

        return score

    return factory


def narformer_predictor(epochs: int = 100, dim: int = 64, num_layers: int = 2, lr: float = 1e-3,
                        batch_size: int = 16, num_freqs: int = 32, seed: int = 0,
                        progress: bool = False, device: str = "cpu", amp: str | None = None,
                        compile: bool | str = False, **model_kwargs) -> PredictorFactory:
    """:func:`graph_predictor` with a (small) NAR-Former on the NAR-Former tokens
    (:class:`~pyg_nar.transforms.Tokenize`), linear head (standardized targets), MSE loss,
    AdamW with warm-up + linear decay. Defaults sized for CPU search (``dim`` 64, 2 layers;
    the paper's model is ``dim`` 192, 6 layers, with the sigmoid head).

    Args:
        epochs (int, optional): training epochs per round. (default: :obj:`100`)
        dim (int, optional): the model width. (default: :obj:`64`)
        num_layers (int, optional): the number of transformer layers. (default: :obj:`2`)
        lr (float, optional): the peak learning rate. (default: :obj:`1e-3`)
        batch_size (int, optional): the training batch size. (default: :obj:`16`)
        num_freqs (int, optional): the tokenizer's positional-encoding frequencies.
            (default: :obj:`32`)
        seed (int, optional): the seed of round 0 (round ``k`` uses ``seed + k``).
            (default: :obj:`0`)
        progress (bool, optional): show the training loop's progress bar.
            (default: :obj:`False`)
        device (str, optional): where it trains and scores (``"cpu"``, ``"cuda"``,
            ``"cuda:N"``, ``"auto"``). (default: :obj:`"cpu"`)
        amp (str, optional): mixed precision, ``"bf16"`` or ``"fp16"``. (default: :obj:`None`)
        compile (bool or str, optional): :func:`torch.compile` it (each round's fresh model
            reuses the compiled code). (default: :obj:`False`)
        **model_kwargs (optional): further arguments of
            :meth:`~pyg_nar.models.NARFormer.from_data`.
    """
    from pyg_nar.models import NARFormer
    from pyg_nar.training import TrainConfig
    from pyg_nar.transforms import Tokenize

    tok = Tokenize(num_freqs=num_freqs)
    probe = tok(_probe_graph())
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, loss="mse", seed=seed,
                         progress=progress, device=device, amp=amp, compile=compile)
    return graph_predictor(
        lambda: NARFormer.from_data(probe, dim=dim, num_layers=num_layers, output="linear", **model_kwargs),
        config, transform=tok)


def _probe_graph():
    """One NB201 cell graph, to read feature widths off a transform's output."""
    from pyg_nar.datasets.nasbench201 import nb201_cell_graph
    return nb201_cell_graph(NB201SearchSpace.to_arch_str(["nor_conv_3x3"] * 6), 0.0)
