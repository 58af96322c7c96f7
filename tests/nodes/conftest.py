"""Fixtures of the model-node tests (defined in node_fixtures.py, also importable by the tests)."""
from node_fixtures import forecaster_weights, predictor_weights  # noqa: F401
