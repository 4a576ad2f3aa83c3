"""Piccolo adapter: the only package that imports piccolo."""
