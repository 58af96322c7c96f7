"""Foresight examples package."""
