"""The TensorFlow target: `to_tf` / `from_tf` / `export_saved_model`
(`adapter`), and the rules that lower each JAX primitive to TensorFlow ops
(`rules`, split by family: `elementwise`, `shape`, `linalg`, `reduce`,
`indexing`, `control`, `random`, over `common` helpers)."""

from interop.tensorflow.adapter import FunctionModel as FunctionModel
from interop.tensorflow.adapter import TFModel as TFModel
from interop.tensorflow.adapter import export_saved_model as export_saved_model
from interop.tensorflow.adapter import from_tf as from_tf
from interop.tensorflow.adapter import to_tf as to_tf
