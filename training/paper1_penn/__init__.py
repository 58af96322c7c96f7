"""Penn Action 2D adapters of the paper-1 predictor: training data (``data``) and evaluation (``adapter``)."""
