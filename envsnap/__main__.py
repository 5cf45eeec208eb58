"""`python -m envsnap`."""

from .cli import entry

entry()
