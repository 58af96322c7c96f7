"""Foresight training package."""
