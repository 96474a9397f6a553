"""The semantic tier's encoders on the real MiniLM model: ONNX Runtime and PyTorch agree."""

from __future__ import annotations

import numpy as np
import pytest

from verifiers.embedding import (
    Embedder,
    Matrix,
    OnnxEncoder,
    TorchEncoder,
    load_encoder,
    load_model,
)
from verifiers.registry import VerifierConfigError

pytestmark = [pytest.mark.model]

TEXTS = [
    "civil engineer",
    "her father designs and builds bridges, roads and public works in the city",
    "x",
    "a much longer residual " * 12,  # past the 48-token cut
]


def test_onnx_gives_the_vectors_pytorch_gives() -> None:
    model = load_model()
    onnx, torch = OnnxEncoder(model).encode(TEXTS), TorchEncoder(model).encode(TEXTS)
    assert onnx.shape == torch.shape == (len(TEXTS), 384)
    assert np.abs(onnx - torch).max() < 1e-4
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)


def test_auto_prefers_onnx_and_unknown_runtimes_are_refused() -> None:
    assert isinstance(load_encoder(None, "auto"), OnnxEncoder)
    assert isinstance(load_encoder(None, "torch"), TorchEncoder)
    with pytest.raises(VerifierConfigError, match="runtime"):
        load_encoder(None, "tensorflow")


def test_embedder_caches_and_keeps_order() -> None:
    calls: list[list[str]] = []

    class Counting:
        def encode(self, texts: list[str]) -> Matrix:
            calls.append(texts)
            return np.eye(3, dtype=np.float32)[[len(t) % 3 for t in texts]]

    embed = Embedder(Counting())
    first = embed(["a", "bb", "a"])
    second = embed(["bb", "ccc"])
    assert calls == [["a", "bb"], ["ccc"]]
    assert (first[0] == first[2]).all()
    assert (second[0] == first[1]).all()
