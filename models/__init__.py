"""Foresight models package."""
