"""File formats: one module per file envsnap reads and writes."""
