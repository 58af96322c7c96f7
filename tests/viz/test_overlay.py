

def test_the_forecast_root_path_reaches_the_overlay_in_the_body_frame():
    """The predictor's root path (camera frame: x right, y down, z forward) becomes the displacement from
    the current pelvis in the body frame (y up, z towards the camera) the overlay projects."""
    import numpy as np
    from nodes.overlay import root_displacement
    from spec.messages import MotionForecast
    T = 25
    base = dict(source_id="cam0", frame_id=1, capture_ts=10.0, times=10.0 + np.arange(1, T + 1) / 25,
                theta=np.zeros((T, 24, 3), np.float32), joints=np.zeros((T, 24, 3), np.float32))
    path = np.stack([np.linspace(0.1, 0.5, T), np.full(T, -0.2), np.linspace(3.0, 2.0, T)], 1).astype(np.float32)
    fc = MotionForecast(**base, root=np.array([0.0, -0.2, 3.0], np.float32), root_path=path)
    d = root_displacement(fc)
    np.testing.assert_allclose(d[:, 0], path[:, 0], atol=1e-6)          # to the right stays right
    np.testing.assert_allclose(d[:, 1], 0.0, atol=1e-6)                 # no height change
    np.testing.assert_allclose(d[:, 2], 3.0 - path[:, 2], atol=1e-6)    # nearer the camera = +z in the body frame
    assert root_displacement(MotionForecast(**base)) is None
