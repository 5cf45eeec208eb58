"""Pure rules: each module exposes `RULES`, functions ``(recorded, current) -> list[Finding]``."""
