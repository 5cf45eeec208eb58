"""Test fake: docker (fixtures registered through tests/conftest.py)."""
