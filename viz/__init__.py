"""What the user sees: the overlay drawn on the camera's frames (`viz.overlay`, with its mp4 writer) and
the live 3D page served to a browser (`viz.web`). Pure numpy/OpenCV and the standard library, so the
drawing and the page's data are unit-tested without processes; the nodes (nodes/overlay.py,
nodes/webview.py) only feed them messages. Layer: above models (reuses the scorer's projection),
below nodes; never imports runtime, nodes or training."""
