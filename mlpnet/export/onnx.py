"""Export a checkpoint to ONNX with the ``onnx`` package's helper API (``mlpnet[onnx]``).

The graph takes raw features and includes the input transform mlpnet applies before the
network, so ``session.run`` on raw pixels (0-255) or raw CSV values gives the same
probabilities as ``mlpnet predict``::

    input          float32 (N, n_features)   raw pixel values 0-255, or raw CSV features
    -> transform   image: x * (1/255) (InputSpec.scale);  table: (x - mean) / std, NaN -> 0 (the stored statistics)
    -> layers      MatMul W_i, Add b_i, hidden activation ... output activation
    probabilities  float32 (N, n_classes)    first output
    index          int64 (N,)                argmax: the predicted class index

A regressor's graph ends instead in the target standardization undone (Checkpoint.to_user)::

    -> restore     z * std + mean             (the stored target statistics)
    values         float32 (N, n_targets)    the only output, in the targets' units

Class names, the input description and the mlpnet version are in ``metadata_props``.
Photo preprocessing (cropping, centring, inverting a scanned digit) is not in the graph:
run it first (``mlpnet predict --save-preprocessed``) for images that are not MNIST-like.

Each input kind and each activation is one entry of a registry below; an unsupported one
is refused in one line naming it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__, checkpoint
from ..nn.activations import LEAKY_SLOPE
from ..errors import MlpnetError
from ..fileio import atomic_write

OPSET = 13
# ONNX IR version 7 is the one that goes with opset 13; every onnxruntime since 1.3 reads it.
IR_VERSION = 7


class ExportError(MlpnetError):
    """The checkpoint holds something this exporter cannot express in ONNX."""


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ExportError('exporting to ONNX needs the onnx package: pip install "mlpnet[onnx]"') from None
    return onnx, helper, numpy_helper


class _Graph:
    """Nodes and initializers accumulated while the graph is built, with unique names."""

    def __init__(self, helper, numpy_helper):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list = []
        self.initializers: list = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(self.helper.make_node(op_type, inputs, [output], name=output, **attrs))
        return output


# -- input transforms: checkpoint -> nodes from raw features to the network's input ----------

def _image_transform(g: _Graph, x: str, ckpt: checkpoint.Checkpoint) -> str:
    # The input spec's own float32 factor (InputSpec.to_network multiplies by it), so the rounding is the same.
    return g.op("Mul", [x, g.const("scale", np.array(ckpt.input.scale, np.float32))], "scaled")


def _tabular_transform(g: _Graph, x: str, ckpt: checkpoint.Checkpoint) -> str:
    unknown = sorted(ckpt.group("input"))
    if unknown:
        raise ExportError(f"{ckpt.path}: the ONNX exporter does not know the stored input array "
                          f"'input.{unknown[0]}'; it supports standardized numeric features only")
    stats = ckpt.input.stats
    mean = g.const("input_mean", stats["mean"].astype(np.float32))
    std = g.const("input_std", stats["std"].astype(np.float32))
    z = g.op("Div", [g.op("Sub", [x, mean], "centred"), std], "standardized")
    # A missing value (NaN) takes the training mean, 0 once standardized, as in mlpnet's
    # Standardizer; categorical columns arrive one-hot, as the feature names `column=value` say.
    return g.op("Where", [g.op("IsNaN", [z], "missing"), g.const("zero", np.array(0.0, np.float32)), z],
                "filled")


INPUT_TRANSFORMS: dict[str, Callable[[_Graph, str, checkpoint.Checkpoint], str]] = {
    "image": _image_transform,
    "table": _tabular_transform,
}
"""Input kind (:attr:`InputSpec.kind <mlpnet.data.spec.InputSpec.kind>`) -> builder of the transform nodes."""

# -- activations: name -> (op type, attributes) -------------------------------------------

HIDDEN_OPS: dict[str, tuple[str, dict]] = {
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": LEAKY_SLOPE}),
}
OUTPUT_OPS: dict[str, tuple[str, dict]] = {
    "softmax": ("Softmax", {"axis": 1}),
    "sigmoid": ("Sigmoid", {}),
    "identity": ("Identity", {}),
}


def to_onnx(ckpt: checkpoint.Checkpoint):
    """Build the ONNX ``ModelProto`` of a loaded checkpoint (see the module docstring)."""
    onnx, helper, numpy_helper = _onnx()
    arch = ckpt.model.arch
    info = ckpt.input
    kind = info.kind
    if kind not in INPUT_TRANSFORMS:
        raise ExportError(f"{ckpt.path}: cannot export input kind {kind!r} (supported: {', '.join(INPUT_TRANSFORMS)})")
    for name, table, key in ((arch.activation, HIDDEN_OPS, "activation"), (arch.output, OUTPUT_OPS, "output")):
        if name not in table:
            raise ExportError(f"{ckpt.path}: cannot export {key} {name!r} (supported: {', '.join(table)})")

    g = _Graph(helper, numpy_helper)
    x = INPUT_TRANSFORMS[kind](g, "input", ckpt)
    last = ckpt.model.n_layers - 1
    regression = ckpt.task == "regression"
    for i, (w, b) in enumerate(zip(ckpt.model.weights, ckpt.model.biases)):
        z = g.op("Add", [g.op("MatMul", [x, g.const(f"weights.{i}", w.astype(np.float32))], f"matmul.{i}"),
                         g.const(f"biases.{i}", b.astype(np.float32))], f"z.{i}")
        op_type, attrs = (OUTPUT_OPS[arch.output] if i == last else HIDDEN_OPS[arch.activation])
        name = ("network_values" if regression else "probabilities") if i == last else f"a.{i}"
        x = g.op(op_type, [z], name, **attrs)
    n_in, n_out = arch.sizes[0], arch.sizes[-1]
    if regression:
        st = ckpt.target_stats
        scaled = g.op("Mul", [x, g.const("target.std", np.asarray(st.get("std", np.ones(n_out)), np.float32))],
                      "rescaled")
        g.op("Add", [scaled, g.const("target.mean", np.asarray(st.get("mean", np.zeros(n_out)), np.float32))],
             "values")
        outputs = [helper.make_tensor_value_info("values", onnx.TensorProto.FLOAT, ["N", n_out])]
    else:
        g.op("ArgMax", [x], "index", axis=1, keepdims=0)
        outputs = [helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT, ["N", n_out]),
                   helper.make_tensor_value_info("index", onnx.TensorProto.INT64, ["N"])]
    graph = helper.make_graph(
        g.nodes, "mlpnet",
        [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["N", n_in])],
        outputs, initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              producer_name="mlpnet", producer_version=__version__,
                              doc_string=f"{'-'.join(map(str, arch.sizes))} MLP exported from {ckpt.path}")
    helper.set_model_props(model, {
        "task": ckpt.task,
        "classes": json.dumps(ckpt.classes),
        "targets": json.dumps(ckpt.target_names if regression else []),
        "input": json.dumps(info.to_dict()),
        "input_transform": f"x * {info.scale!r}" if kind == "image" else "(x - mean) / std; NaN (missing) -> 0",
        "features": json.dumps(info.features or []),
        "architecture": json.dumps(arch.to_dict()),
        "mlpnet_version": __version__,
    })
    onnx.checker.check_model(model, full_check=True)
    return model


def export(model_path: str | Path, out: str | Path) -> Path:
    """Write the ONNX file of the checkpoint at ``model_path`` to ``out`` atomically.

    Returns the output path. Raises :class:`ExportError` (a :class:`MlpnetError`) for a
    missing extra or an unsupported checkpoint, :class:`CheckpointError` for a bad file.
    """
    onnx, _, _ = _onnx()
    ckpt = checkpoint.load(model_path)
    model = to_onnx(ckpt)
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"{out}: is a directory; name the .onnx file to write")
    if not out.parent.exists():
        raise ExportError(f"{out.parent}: no such folder")
    with atomic_write(out) as f:
        f.write(model.SerializeToString())
    return out
