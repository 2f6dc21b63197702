"""The hostile tests of step 9: each test names its attack in its docstring. They share the
auth tests' hub over the small test city (a fresh one per module)."""

from __future__ import annotations

from tests.auth.conftest import Hub, hub

__all__ = ["Hub", "hub"]
