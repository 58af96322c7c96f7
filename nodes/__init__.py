"""Foresight nodes package."""
