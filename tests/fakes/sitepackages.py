"""Test fake: sitepackages (fixtures registered through tests/conftest.py)."""
