"""One module per framework, each training `bench.models_spec` models its own way.

Every module has `VARIANTS`, `run(model, variant, batch, steps, repeats) -> dict`
and a command line: `python -m bench.peers.<module> MODEL VARIANT [--quick]`.
"""
