"""Which generation steps FlowMessagePassing layers really take, observed from outside.

Each step of a flow writes the states of one generation into that flow's state buffer
(``state[bounds[g]:bounds[g + 1]] = ...``). :class:`FlowSteps` watches those writes with a
:class:`torch.overrides.TorchFunctionMode` while a :class:`FlowMessagePassing` runs (forward
hooks mark the start and end of every call) and turns them back into
``(direction, generation)`` pairs: the first buffer a call writes is its forward flow, the
second its backward flow. The layers keep no record of their own.
"""
from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

from pyg_nar.nn import FlowMessagePassing


class FlowSteps(TorchFunctionMode):
    """``with FlowSteps(model) as rec: model(...)``; then ``rec.calls`` holds, per
    :class:`FlowMessagePassing` call in order, the list of ``(direction, (lo, hi))`` slices
    written, and :meth:`steps` maps them to generations with a schedule's ``bounds``."""

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.layers = [m for m in module.modules() if isinstance(m, FlowMessagePassing)]
        self.calls: list[list[tuple[str, tuple[int, int]]]] = []
        self.layer_of_call: list[FlowMessagePassing] = []
        self._buffers: list[int] | None = None
        self._hooks = []

    def __enter__(self):
        for layer in self.layers:
            self._hooks.append(layer.register_forward_pre_hook(self._start))
            self._hooks.append(layer.register_forward_hook(self._stop))
        return super().__enter__()

    def __exit__(self, *exc):
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
        return super().__exit__(*exc)

    def _start(self, layer, args):
        self.calls.append([])
        self.layer_of_call.append(layer)
        self._buffers = []

    def _stop(self, layer, args, out):
        self._buffers = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.Tensor.__setitem__ and self._buffers is not None:
            target, key = args[0], args[1]
            if (isinstance(key, slice) and isinstance(key.start, int) and isinstance(key.stop, int)
                    and target.dim() == 2):
                if id(target) not in self._buffers:
                    self._buffers.append(id(target))
                direction = ("forward", "backward")[self._buffers.index(id(target))]
                self.calls[-1].append((direction, (key.start, key.stop)))
        return func(*args, **(kwargs or {}))

    def num_steps(self, call: int = -1) -> int:
        return len(self.calls[call])

    def steps(self, bounds: list[int], call: int = -1) -> list[tuple[str, int]]:
        """The ``(direction, generation)`` of every step of one call."""
        gen_of = {(bounds[g], bounds[g + 1]): g for g in range(len(bounds) - 1)}
        return [(d, gen_of[s]) for d, s in self.calls[call]]
