"""Per-study experiment drivers: they run library pieces over seeds and sweeps and return tables.

Kept apart from methods/ so a notebook stays a story (protocol, figures, claims)
while the loops it relies on are importable and unit-tested.
"""
