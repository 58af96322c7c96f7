"""python -m training.online_blend: the online blend's held-out benchmark refuses bad arguments in one
line, before any rendering (the figures themselves need the rendered held-out clip: docs/selfscore.md)."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("argv, msg", [(["--fps", "30"], "--fps must be in 0..25"),
                                       (["--set", "prior=-1"], "--set: prior must be >= 0"),
                                       (["--set", "enabled=false"], "--set enabled=false"),
                                       (["--weights", "weights/predictor_penn"], "the live chain serves smpl_theta"),
                                       (["--weights", "weights/nope"], "nope")])
def test_the_benchmark_refuses_bad_arguments_in_one_line(argv, msg, capsys):
    from training.online_blend import main
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1
