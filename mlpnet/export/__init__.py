"""Export checkpoints to other formats: ONNX (``mlpnet[onnx]``). The ``onnx`` package is imported lazily."""
