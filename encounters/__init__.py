"""Hearth's clinical domain, pure Python.

Everything here takes plain values and returns plain values: no clock (the
current time comes in as ``now``), no randomness, no network or database, and
only the standard library. Data files (templates, instruments, scenarios) are
TOML read with :mod:`tomllib`; the loaders are the only code that opens files.
"""
