"""Fixtures of the model-node tests (tests/streams.py, shared with the streaming-session tests)."""
from streams import forecaster_weights, predictor_weights  # noqa: F401
