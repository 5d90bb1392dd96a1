"""Any sentence-transformers model on torch (multilingual-e5-base, bge-m3, EmbeddingGemma, ...): a local
folder, or a hub id when the hub is reachable. Uses the model's own query/document prompts when it defines
them; a document prompt of the form ``title: none | text: `` (EmbeddingGemma's) gets the article's title.
Gives token states too (:class:`~assistant.models.embedding.protocol.TokenStatesEmbedder`)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import EmbeddingError
from assistant.models.embedding.framed import FramedEmbedder
from assistant.models.embedding.protocol import StatesSpec, TokenStates

__all__ = ["SentenceTransformerEmbedder"]


class SentenceTransformerEmbedder(FramedEmbedder):
    """Any sentence-transformers model (torch): a local folder, or a hub id when the hub is reachable."""

    def __init__(
        self,
        model: str,
        *,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        model_id: str | None = None,
        memo_size: int = 20000,
        adapter: Path | None = None,
        weights_digest: str | None = None,
        device: str = "cpu",
        dtype: str = "f32",
    ):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbeddingError(
                "the sentence-transformers backend needs torch and sentence-transformers: "
                "`pip install torch==2.13.0 sentence-transformers`"
            ) from e
        if threads:
            import torch

            torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as e:  # noqa: BLE001 - library raises many kinds; we add the fix
            raise EmbeddingError(
                f"cannot load sentence-transformers model {model!r} ({type(e).__name__}: {e}). Give a model "
                "folder, or a hub id on a machine that can reach the hub (HF_HUB_OFFLINE=1 makes it fail fast)."
            ) from e
        if adapter is not None:  # a LoRA adapter, merged into the weights once (assistant/models/lora.py)
            from assistant.models.lora import load_adapter, merge_adapter

            merge_adapter(self._model[0].auto_model, load_adapter(adapter))
        # on a GPU (assistant/models/embedding/device.py): merged in float32 on the CPU, then moved and cast
        self.device, self.dtype = device, dtype
        if device != "cpu" or dtype != "f32":
            import torch

            self._model.to(device=device, dtype={"bf16": torch.bfloat16, "f16": torch.float16}.get(dtype, torch.float32))
        self._frame(getattr(self._model, "prompts", {}) or {}, query_prompt, document_prompt, batch_size, memo_size)
        self._switches: dict[Path, Any] = {}
        self.weights_digest = weights_digest
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or len(self.embed_query("x")))
        name = model_id or os.path.basename(os.path.normpath(model))
        self.model_id = f"sentence-transformers/{name}" + ("+title" if self._titled else "")

    @property
    def vector_id(self) -> str:
        """The model id; on a GPU or in another precision, with them (``@torch-cuda-bf16``): an index is
        keyed to what made its vectors."""
        if self.device == "cpu" and self.dtype == "f32":
            return self.model_id
        return f"{self.model_id}@torch-{self.device}-{self.dtype}"

    @property
    def model(self) -> Any:
        """The ``SentenceTransformer`` underneath (what the OpenVINO graphs are traced from, what the span
        reader's trainer adapts)."""
        return self._model

    def _forward(self, texts: list[str], ingest: bool = False) -> np.ndarray:
        return self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)

    def prepare_states(self, spec: StatesSpec) -> None:
        """Nothing to build ahead: the adapter is attached at the first :meth:`token_states`."""

    def token_states(self, texts: list[str], spec: StatesSpec) -> list[TokenStates]:
        """Hidden states of ``texts`` (bf16 autocast, one batch) with ``spec``'s adapter switched on while
        they are computed: the embedder's vectors stay exactly what they were."""
        import torch

        model = self._model[0].auto_model
        with self._turns.turn(urgent=True):  # part of answering a question
            switch = self._switches.get(spec.source)
            if switch is None and spec.lora:
                from assistant.models.lora import attach_switched

                switch = self._switches[spec.source] = attach_switched(model, spec.lora, str(spec.source),
                                                                       tag=spec.digest)
            enc = self._model.tokenizer(texts, return_tensors="pt", return_offsets_mapping=True, padding=True,
                                        truncation=True, max_length=spec.max_tokens)
            offsets = enc.pop("offset_mapping").numpy()
            mask = enc["attention_mask"].numpy().astype(bool)
            # float32 weights run under bf16 autocast on the CPU; weights already in bf16/f16 run as they are
            cast = torch.autocast("cpu", dtype=torch.bfloat16) if self.dtype == "f32" else contextlib.nullcontext()
            with torch.inference_mode(), (switch or contextlib.nullcontext()), cast:
                out = model(**enc.to(self.device), output_hidden_states=True)
                hidden = torch.cat([out.hidden_states[i].float() for i in spec.layers], dim=-1).cpu().numpy()
        return [TokenStates(hidden[b, mask[b]], offsets[b, mask[b]].astype(np.int64)) for b in range(len(texts))]
