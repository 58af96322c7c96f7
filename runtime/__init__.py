"""Foresight runtime package."""
