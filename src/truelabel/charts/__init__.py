"""Server-made SVG charts: pure functions from numbers to SVG text (no I/O)."""
