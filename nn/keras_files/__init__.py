"""Keras 3's own files, read here: `.keras` archives (`nn.load_model`) and
`.weights.h5` weights (`Model.load_weights`), with the safety rules of our
own archive. See `archive` for the reader, `config` for the translation of
Keras's configs, `layout` for where the HDF5 file keeps each variable.
"""
