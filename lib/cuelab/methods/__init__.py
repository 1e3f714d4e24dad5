"""Measurements, each a small module with a clear verb."""
