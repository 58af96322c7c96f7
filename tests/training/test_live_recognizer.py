"""training.live_recognizer: the recogniser retrained on the θ the real live chain (rendered CMU
training motion, MediaPipe, the live IK) makes; only the recogniser changes."""
from __future__ import annotations

import pytest
import torch

from core.paths import WEIGHTS_DIR
from render.clip import ClipSpec, Segment
from training.live_chain import KNOWN_ACTIONS, train_playlists


def test_the_training_playlists_read_only_the_known_actions_training_files(tmp_path):
    first, second = train_playlists()
    for playlist in (first, second):
        spec = ClipSpec(segments=playlist, data_root=str(tmp_path))
        assert {f.parts[-3] for f in spec.files()} == {"train"}           # never the test split
        assert {(s.action, s.take) for s in playlist} == {(a, t) for a in KNOWN_ACTIONS for t in range(1, 6)}
    # ten distinct views per action over the two clips
    for a in KNOWN_ACTIONS:
        views = {s.azimuth_deg for s in first + second if s.action == a}
        assert len(views) == 10 and all(-180.0 <= v < 180.0 for v in views)


def test_bad_settings_and_a_non_live_bundle_are_one_line_errors(tmp_path, capsys):
    from training.live_recognizer import main
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_smpl_improved"), "--out", str(tmp_path / "o"),
                 "--hold-out-take", "6"]) == 2
    assert "--hold-out-take 0..5" in capsys.readouterr().err
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_cmu"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "live (smpl_theta) bundle" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_retraining_learns_the_live_windows_and_changes_only_the_recogniser(cmu_root, tmp_path):
    """Two 2.4 s training stretches rendered, through MediaPipe and the IK at 25 and 10 fps. The
    bundle's clean recogniser already names both right, so the run is given them with the two labels
    swapped (and clean windows of a third class only, which do not contradict that): it must learn
    the swap, keep the third class and leave every weight outside the recogniser as it was."""
    from models.bundle import load_bundle
    from training import live_recognizer as lr
    bundle = load_bundle(WEIGHTS_DIR / "predictor_smpl_improved", kind="motion_predictor")
    tiny = ((Segment("jumping", take=2, seconds=2.4, azimuth_deg=150.0, split="train"),
             Segment("walking", take=3, seconds=2.4, azimuth_deg=-90.0, split="train")),)
    theta, cls, take = lr.live_windows_of(bundle, stride=2, playlists=tiny, cache_dir=str(tmp_path))
    labels = list(bundle.serving.labels)
    jump, walk, ball = (labels.index(a) for a in ("jumping", "walking", "basketball"))
    assert theta.shape[1:] == (10, 72) and len(theta) == len(cls) == len(take)
    assert set(cls.tolist()) == {jump, walk}
    assert set(take[cls == walk].tolist()) == {3} and set(take[cls == jump].tolist()) == {2}
    clean_theta, clean_cls = lr.clean_windows_of(bundle, stride=50)
    assert set(clean_cls.tolist()) == set(range(len(labels)))
    clean = (clean_theta[clean_cls == ball], clean_cls[clean_cls == ball])
    swapped = torch.where(cls == jump, walk, jump)
    model = bundle.model
    frozen = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("recognizer.")}
    before = lr.accuracy(model, theta, swapped)
    curve = lr.train(model, (theta, swapped), clean, steps=200, batch=32, lr=0.05, seed=0)
    after = lr.accuracy(model, theta, swapped)
    assert before <= 0.2 and after >= 0.95, (before, after)
    assert lr.accuracy(model, *clean) >= 0.95
    assert len(curve) == 10 and curve[-1] < curve[0]
    for k, v in model.state_dict().items():
        if k in frozen:
            assert torch.equal(v, frozen[k]), k
    assert not any(p.requires_grad for p in model.parameters())
