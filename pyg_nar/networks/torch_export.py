r"""PyTorch module -> architecture graph, through ONNX: :func:`from_torch`."""
from __future__ import annotations

import functools
import inspect
import os
import tempfile
import warnings

__all__ = ["from_torch"]


@functools.lru_cache(maxsize=1)
def _from_onnx_keywords() -> frozenset:
    """The keyword arguments :func:`~pyg_nar.networks.from_onnx` takes (all but the model)."""
    from pyg_nar.networks.onnx_graph import from_onnx

    return frozenset(list(inspect.signature(from_onnx).parameters)[1:])


def from_torch(module, example_inputs, batch_size: int | None = None, **kwargs):
    r"""Convert a PyTorch module into an architecture graph: export it with
    :func:`torch.onnx.export` into a temporary file (removed afterwards, also on error), then
    convert that with :func:`~pyg_nar.networks.from_onnx`. No file of the user's own is needed.

    The export traces ``module`` on ``example_inputs`` with the TorchScript exporter
    (``dynamo=False``; the dynamo exporter needs ``onnxscript``) at opset 17, in eval mode, so
    the graph has the shapes of ``example_inputs`` unless ``dynamic_axes`` says otherwise.

    Args:
        module (torch.nn.Module): the network.
        example_inputs (torch.Tensor or tuple): its forward arguments (a tuple for several).
        batch_size (int, optional): passed to :func:`~pyg_nar.networks.from_onnx`: overrides
            the first dimension of every data input. (default: :obj:`None`, the example's)
        **kwargs: the keyword arguments of :func:`~pyg_nar.networks.from_onnx` (``name``,
            default the module's class name; ``y``; ``arch_id``; ...) go to it, every other
            one to :func:`torch.onnx.export` (``input_names``, ``dynamic_axes``,
            ``opset_version``, ``dynamo``, ...).

    Returns the :class:`~torch_geometric.data.Data` of :func:`~pyg_nar.networks.from_onnx`.

    Raises :class:`~pyg_nar.errors.OnnxGraphError` naming the module's class and the
    exporter's first line when the export fails, and what :func:`~pyg_nar.networks.from_onnx`
    raises for the exported graph (named after the module).

    Example::

        >>> import torch
        >>> from pyg_nar.networks import from_torch
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
        >>> from_torch(net, torch.randn(1, 3, 32, 32)).num_nodes  # Input, Conv, Relu
        3
    """
    import torch

    from pyg_nar.errors import OnnxGraphError
    from pyg_nar.networks.onnx_graph import from_onnx

    convert = {k: kwargs.pop(k) for k in list(kwargs) if k in _from_onnx_keywords()}
    cls = type(module).__name__
    convert.setdefault("name", cls)
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch needs a torch.nn.Module, got {cls}")
    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    export = {"dynamo": False, "opset_version": 17, **kwargs}
    with tempfile.TemporaryDirectory(prefix="pyg_nar_from_torch_") as tmp:
        path = os.path.join(tmp, f"{cls}.onnx")
        try:
            with warnings.catch_warnings():  # the legacy exporter's deprecation notice is our choice
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(module, args, path, **export)
        except Exception as e:  # noqa: BLE001  (the exporter raises many kinds)
            text = str(e).strip()
            first = text.splitlines()[0] if text else type(e).__name__
            label = cls if convert["name"] == cls else f"{convert['name']} ({cls})"
            raise OnnxGraphError(f"{label}: torch.onnx.export failed: {type(e).__name__}: "
                                 f"{first}") from None
        return from_onnx(path, batch_size, **convert)
