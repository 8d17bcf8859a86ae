"""nn: layers and models with Keras's grammar over pure `init`/`apply`.

It depends on `stateless`, `interop` and `train`. The layers and models arrive
with their own issue; this package holds the place that the one-way layering
fixes for it.
"""
