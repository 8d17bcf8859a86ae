"""interop: lowering pure JAX functions onto PyTorch and TensorFlow.

It depends on `stateless` only, and imports torch or TensorFlow only when an
adapter is used. The lowering itself arrives with its own issue; this package
holds the place that the one-way layering (`stateless` <- `interop` <- `train`
<- `nn`) fixes for it.
"""
