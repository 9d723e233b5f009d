"""The national interface's tests share the API tests' city, per backend and module."""

from tests.e2e.api.conftest import world

__all__ = ["world"]
