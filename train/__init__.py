"""train: pure training of any `apply(variables, *inputs, training, rng)`.

It depends on `stateless` and `interop`, never on `nn`. The losses, metrics,
optimizers and step builders arrive with their own issue; this package holds
the place that the one-way layering fixes for it.
"""
