"""Test fake: nvml (fixtures registered through tests/conftest.py)."""
