"""The engine: the core behind interning, reads, channels, variants and capacity."""
