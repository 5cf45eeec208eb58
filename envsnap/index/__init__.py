"""The package-index client: pip's configuration, the simple repository API, hash look-ups.

Capture asks it for the hashes of installed packages (`lookup.lock_hashes`); it is not a probe of
this machine. Nothing is imported here: urllib, ssl and http load only when a look-up runs.
"""
