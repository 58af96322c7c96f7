"""Foresight benchmarks package."""
