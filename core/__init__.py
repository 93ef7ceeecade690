"""Helpers every app may use. This package imports no other project package (the lowest layer)."""
