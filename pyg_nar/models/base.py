"""The small base class of the predictors: the hooks the training loop and the checkpoints
call, with their defaults."""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn

__all__ = ["Predictor"]


class Predictor(nn.Module):
    r"""Base class of pyg_nar's predictors: ``forward(batch) -> [B]``, one prediction per
    graph of a PyG batch (or of a single :class:`~torch_geometric.data.Data`).

    Decorate a subclass with :func:`~pyg_nar.models.register_model`: it then records the
    constructor arguments as ``self.config`` (never copy them by hand), and
    :func:`~pyg_nar.checkpoint.load_checkpoint` rebuilds it by name. The hooks below have
    defaults; override those a model needs.

    * :meth:`resolve_config` - complete the bound constructor arguments before ``__init__``
      (defaults that depend on other arguments, earlier names of values); define it in the
      class that defines the ``__init__`` it completes.
    * :meth:`forward_augmented` - the predictions for the augmented copy each graph carries
      (NAR-Former's architecture-consistency loss, :attr:`pyg_nar.training.TrainConfig.ac_weight`).
    * :attr:`LEGACY_KEYS` - renamed ``state_dict`` prefixes, so weights saved before a
      rename still load.
    * :meth:`upgrade_transform` - complete a transform saved with an earlier version.
    * :meth:`compile_regions` - the submodules :func:`torch.compile` compiles
      (:func:`pyg_nar.devices.compile_model`, ``TrainConfig.compile``).
    """

    #: ``{old prefix: new prefix}`` of ``state_dict`` keys (e.g. ``{"head.0.": "head.lins.0."}``);
    #: :meth:`load_state_dict` renames keys saved under an old prefix.
    LEGACY_KEYS: dict[str, str] = {}

    def __init__(self):
        super().__init__()
        if self.LEGACY_KEYS:
            self.register_load_state_dict_pre_hook(_rename_legacy_keys)

    @classmethod
    def resolve_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The constructor arguments ``__init__`` receives and ``self.config`` records, from
        the bound ones (defaults applied). Default: unchanged."""
        return config

    def forward_augmented(self, batch) -> Tensor:
        """Predictions ``[B]`` for the augmented copy of each graph that ``batch`` carries
        (e.g. NAR-Former's ``aug_tokens``, :class:`~pyg_nar.transforms.FlowConsistentPair`).
        The training loop calls it when the architecture-consistency loss is on."""
        raise NotImplementedError(
            f"{type(self).__name__} reads no augmented copy of a graph, so the "
            f"architecture-consistency loss (ac_weight > 0) cannot train it")

    def compile_regions(self) -> list[nn.Module]:
        """The submodules :func:`pyg_nar.devices.compile_model` compiles, each with
        :func:`torch.compile`. Default: the whole model. A model whose forward does work that
        does not compile (e.g. host-side bookkeeping) names the parts that do; repeated blocks
        of one class then share one compiled graph, so compilation takes the time of one."""
        return [self]

    def upgrade_transform(self, transform):
        """The transform that makes this model's inputs, given the one saved beside its
        weights (:func:`~pyg_nar.checkpoint.load_checkpoint` calls it). Default: unchanged."""
        return transform


def _rename_legacy_keys(module: Predictor, state_dict, prefix, *args) -> None:
    for key in list(state_dict):
        if not key.startswith(prefix):
            continue
        local = key[len(prefix):]
        for old, new in module.LEGACY_KEYS.items():
            if local.startswith(old):
                state_dict[prefix + new + local[len(old):]] = state_dict.pop(key)
                break
