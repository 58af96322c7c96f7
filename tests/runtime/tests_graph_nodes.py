"""Node classes named by module path in tests/runtime/test_graph.py (`type: tests_graph_nodes:X`)."""
from runtime.node import Input, Node, Output
from spec.messages import BodyParams, Pose2D


class BodySource(Node):
    IS_SOURCE = True
    OUTPUTS = {"body": Output(BodyParams), "pose": Output(Pose2D)}


class NoHandler(Node):
    INPUTS = (Input("body", BodyParams, handler="on_body"),)


class PoseAsBody(Node):
    """Publishes Pose2D on a topic named "body": the name fits a predictor, the type does not."""
    IS_SOURCE = True
    OUTPUTS = {"body": Output(Pose2D)}
