"""Registry of predictor classes, so that a checkpoint can rebuild a model by class name."""
from __future__ import annotations

__all__ = ["MODELS", "register_model", "model_class"]

#: Predictor classes by name (filled by :func:`register_model`).
MODELS: dict[str, type] = {}


def register_model(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by :func:`pyg_nar.checkpoint.load_checkpoint`."""
    MODELS[cls.__name__] = cls
    return cls


def model_class(name: str) -> type:
    """The registered predictor class called ``name``; a clear error if there is none."""
    import pyg_nar.models  # noqa: F401  (importing it registers every model)

    if name not in MODELS:
        raise KeyError(f"unknown model class {name!r} (registered: {', '.join(sorted(MODELS))})")
    return MODELS[name]
