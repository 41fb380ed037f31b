"""ONNX Runtime for the encoder forward pass: export once, then run it instead of torch.

Both methods spend almost all their inference time in one encoder forward pass (the sentence encoder of
`embedding_head`, the cross-encoder of `finetune`). `export` writes that pass to `model.onnx` (dynamic
batch and sequence axes); `OnnxForward` runs it with onnxruntime on numpy arrays. Pooling, the head and
calibration stay in numpy, so the two runtimes give the same verdicts (to ~1e-5).

`quantize_int8` writes an int8 copy (dynamic quantization of the MatMul weights, signed, per output
channel). On the 2-core AVX2 reference machine it runs MiniLM-L6 about twice as fast as fp32 (BENCHMARKS.md);
`train_evaluator` ships it only when it passes the promotion gate against fp32 on held-out labels.

Dynamic quantization takes one activation scale per tensor, that is over the whole padded batch, so an
int8 model's score for a session would depend on the other sessions in its batch (measured: 1.5% of
verdicts changed between batches of 64 and batches of one; BENCHMARKS.md). `OnnxForward` therefore runs
a dynamically quantized graph one session at a time, each cut to its own length: an int8 verdict is the
same in a batch, alone, and in the guardrail's micro-batches, and the certification holds for the scores
that are served. Static (calibrated) quantization would avoid that cost but lost 9 points of accuracy
on MiniLM here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
OPSET = 17


def export(model: Any, sample: dict[str, np.ndarray], path: Path, output: str) -> Path:
    """Trace `model` (an HF encoder; `output` names the tensor to return) to an ONNX file at `path`.

    A copy is traced: tracing changes the traced module's later torch outputs (measured: P(good) moved
    by up to 0.07), and the caller keeps using the original."""
    import copy

    import torch

    names = list(sample)

    class _Forward(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: Any) -> Any:
            return getattr(self.inner(**dict(zip(names, tensors, strict=True))), output)

    args = tuple(torch.from_numpy(sample[n]) for n in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes[output] = {0: "batch"} if output == "logits" else {0: "batch", 1: "sequence"}
    tmp = path.with_name(path.name + ".tmp")
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about data-dependent branches: shapes are dynamic
        torch.onnx.export(
            _Forward(copy.deepcopy(model).eval()),
            args,
            str(tmp),
            input_names=names,
            output_names=[output],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    tmp.replace(path)
    return path


def quantize_int8(source: Path, target: Path, key: str | None = None) -> Path:
    """Write an int8 version of the ONNX model at `source` to `target` (MatMul weights, per channel).
    `key`: the unchanged base encoder `source` was exported from (`onnx_cache`), to copy the int8 file
    made for it before instead of quantizing again.

    Activations are quantized per call (dynamic), so no calibration data is needed. Per-channel signed
    weights keep MiniLM's embeddings at cosine 0.994 (mean) to fp32's on TruthfulQA texts
    (benchmarks/int8_accuracy.py)."""
    from judgeloop.training.onnx_cache import cached

    return cached(key, Path(target), lambda out: _quantize(Path(source), out))


def _quantize(source: Path, target: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(target.name + ".tmp")
    with warnings.catch_warnings(), _root_logging_quiet():
        warnings.simplefilter("ignore")
        quantize_dynamic(
            source, tmp, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
        )
    tmp.replace(target)
    return target


@contextlib.contextmanager
def _root_logging_quiet() -> Iterator[None]:
    """onnxruntime.quantization logs advice through the root logger (`logging.warning`), which would
    also install a root handler in the caller's process; hold both back."""
    root = logging.getLogger()
    handler, level = logging.NullHandler(), root.level
    root.addHandler(handler)
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class OnnxForward:
    """An onnxruntime session over an exported encoder: arrays in, the output tensor out."""

    def __init__(
        self, path: str | Path, num_threads: int | None = None, spinning: bool | None = None
    ) -> None:
        """`num_threads`: intra-op threads (else $JUDGELOOP_ONNX_THREADS, else ONNX Runtime's default,
        one per physical core). `spinning`: whether idle intra-op threads busy-wait for work (default
        on, ONNX Runtime's own default; $JUDGELOOP_ONNX_SPINNING overrides it)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        num_threads = num_threads or int(os.environ.get("JUDGELOOP_ONNX_THREADS") or 0)
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
        env_spinning = os.environ.get("JUDGELOOP_ONNX_SPINNING")
        if env_spinning is not None:
            spinning = env_spinning != "0"
        self.spinning = True if spinning is None else bool(spinning)
        self.num_threads = int(num_threads) if num_threads else None
        if not self.spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = _open_session(ort, Path(path), options)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.path = Path(path)
        self.per_session = dynamically_quantized(self.path)

    def __call__(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {name: arrays[name] for name in self.inputs if name in arrays}
        mask = arrays.get("attention_mask")
        if not self.per_session or mask is None or len(mask) <= 1 and bool(mask.all()):
            return np.asarray(self.session.run(None, feeds)[0])
        return self._one_by_one(feeds, np.asarray(mask))

    def _one_by_one(self, feeds: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
        """Each row alone, without its padding (right-padded batches); sequence outputs (batch, tokens,
        hidden) are padded back with zeros to the batch's width, where the mask is 0."""
        width = mask.shape[1]
        parts = []
        for i, length in enumerate(mask.sum(axis=1).astype(int)):
            cut = max(int(length), 1)
            row = {
                k: v[i : i + 1, :cut] if v.ndim == 2 and v.shape[1] == width else v[i : i + 1]
                for k, v in feeds.items()
            }
            out = np.asarray(self.session.run(None, row)[0])
            if out.ndim >= 3 and out.shape[1] == cut < width:
                pad = [(0, 0)] * out.ndim
                pad[1] = (0, width - cut)
                out = np.pad(out, pad)
            parts.append(out)
        return np.concatenate(parts, axis=0)


def dynamically_quantized(path: Path) -> bool:
    """Whether the graph quantizes its activations at run time (a DynamicQuantizeLinear node)."""
    try:
        import onnx
    except ImportError:
        return path.name == INT8_FILE
    model = onnx.load(str(path), load_external_data=False)
    return any(node.op_type in ("DynamicQuantizeLinear", "MatMulInteger") for node in model.graph.node)


def _open_session(ort: Any, path: Path, options: Any) -> Any:
    """An ONNX Runtime session, or InvalidInput naming the file and what is wrong with it (missing,
    empty, truncated or not ONNX) instead of ONNX Runtime's own error."""
    from judgeloop.errors import InvalidInput

    fix = f"a model.onnx written by `judgeloop export-onnx {path.parent}`"
    if not path.is_file():
        raise InvalidInput("the ONNX model file is missing", file=str(path), expected=fix)
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput("the ONNX model file is empty (0 bytes)", file=str(path), expected=fix)
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own pybind error types (InvalidProtobuf, Fail...)
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(
            f"not a readable ONNX model ({size:,} bytes; truncated or corrupt?): {reason}",
            file=str(path),
            expected=fix,
        ) from None


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
