"""Tests of the pure ML core (no database, no Django).

A package so that this folder's conftest.py is imported as ``ml.conftest`` and does
not replace ``tests/conftest.py`` as the top-level ``conftest`` module.
"""
