"""Multilingual sentiment and complaint scoring of mentions, offline on a CPU.

`load()` gives the bundled default model; `load(name)` any Hugging Face sequence-classification
model by id (from the local cache) or by local path.
"""

from models.sentiment.prediction import LABELS, Prediction


def load(name: str | None = None):
    """The bundled model when name is None, else a transformers model id or local path."""
    if name is None:
        from models.sentiment.bundled import BundledModel

        return BundledModel()
    from models.sentiment.hf import TransformersModel

    return TransformersModel(name)


__all__ = ["LABELS", "Prediction", "load"]
