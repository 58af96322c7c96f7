"""Fixtures of the streaming-session tests (tests/streams.py, shared with the model-node tests)."""
from streams import forecaster_weights, predictor_weights  # noqa: F401
