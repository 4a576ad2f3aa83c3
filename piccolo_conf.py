"""Piccolo's own CLI looks for this module; the configuration lives in the package."""

from ledger.store.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
