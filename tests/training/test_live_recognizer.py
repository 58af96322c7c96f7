"""training.live_recognizer: the recogniser retrained on the θ the real live chain (rendered CMU
training motion, MediaPipe, the live IK) makes; only the recogniser changes."""
from __future__ import annotations

import pytest
import torch

from core.paths import WEIGHTS_DIR
from render.clip import ClipSpec, Segment
from training.live_chain import train_playlists
from training.tasks.cmu_motion.pose import CMU_TRAIN_ACTIONS as KNOWN_ACTIONS


def test_the_training_playlists_read_only_the_known_actions_training_files(tmp_path):
    first, second = train_playlists()
    for playlist in (first, second):
        spec = ClipSpec(segments=playlist, data_root=str(tmp_path))
        assert {f.parts[-3] for f in spec.files()} == {"train"}           # never the test split
        assert {(s.action, s.take) for s in playlist} == {(a, t) for a in KNOWN_ACTIONS for t in range(1, 6)}
    # ten views per action over the two clips, 36 degrees apart
    for a in KNOWN_ACTIONS:
        views = sorted(s.azimuth_deg for s in first + second if s.action == a)
        assert views == [-180.0 + 36.0 * k for k in range(10)]


def test_bad_settings_and_a_non_live_bundle_are_one_line_errors(tmp_path, capsys):
    from training.live_recognizer import main
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_smpl_improved"), "--out", str(tmp_path / "o"),
                 "--hold-out-take", "6"]) == 2
    assert "--hold-out-take 0..5" in capsys.readouterr().err
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_cmu"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "live (smpl_theta) bundle" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
    from models.bundle import load_bundle
    from training.live_chain import live_data
    bundle = load_bundle(WEIGHTS_DIR / "predictor_smpl_improved", kind="motion_predictor")
    with pytest.raises(ValueError, match="1 groups for 2 segments"):      # refused before any rendering
        live_data(bundle, train_playlists()[0][:2], [0], stride=1, n_future=0, cache_dir=str(tmp_path))
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_retraining_learns_the_live_windows_and_changes_only_the_recogniser(cmu_root, tmp_path, monkeypatch):
    """Two 2.4 s training stretches rendered, through MediaPipe and the IK at 25 and 10 fps. The
    bundle's clean recogniser already names both right, so the run is given them with the two labels
    swapped (and clean windows of a third class only, which do not contradict that): it must learn
    the swap, keep the third class and leave every weight outside the recogniser as it was. Then the
    CLI on the same real windows: a held-out take, the report and a bundle without the stale open set."""
    from models.bundle import load_bundle
    from training import live_recognizer as live
    bundle = load_bundle(WEIGHTS_DIR / "predictor_smpl_improved", kind="motion_predictor")
    tiny = ((Segment("jumping", take=2, seconds=2.4, azimuth_deg=150.0, split="train"),
             Segment("walking", take=3, seconds=2.4, azimuth_deg=-90.0, split="train")),)
    theta, cls, take = live.live_windows_of(bundle, stride=2, playlists=tiny, cache_dir=str(tmp_path))
    labels = list(bundle.serving.labels)
    jump, walk, ball = (labels.index(a) for a in ("jumping", "walking", "basketball"))
    assert theta.shape[1:] == (10, 72) and len(theta) == len(cls) == len(take)
    assert set(cls.tolist()) == {jump, walk}
    assert set(take[cls == walk].tolist()) == {3} and set(take[cls == jump].tolist()) == {2}
    clean_theta, clean_cls = live.clean_windows_of(bundle, stride=50)
    assert set(clean_cls.tolist()) == set(range(len(labels)))
    clean = (clean_theta[clean_cls == ball], clean_cls[clean_cls == ball])
    assert live.accuracy(bundle.model, theta, cls) >= 0.9         # the clean recogniser names both
    swapped = torch.where(cls == jump, walk, jump)
    model = bundle.model
    frozen = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("recognizer.")}
    before = live.accuracy(model, theta, swapped)
    curve = live.train(model, (theta, swapped), clean, steps=200, batch=32, lr=0.05, seed=0)
    after = live.accuracy(model, theta, swapped)
    assert before <= 0.2 and after >= 0.95, (before, after)
    assert live.accuracy(model, *clean) >= 0.95
    assert len(curve) == 10 and curve[-1] < curve[0]
    for k, v in model.state_dict().items():
        if k in frozen:
            assert torch.equal(v, frozen[k]), k
    assert not any(p.requires_grad for p in model.parameters())

    monkeypatch.setattr(live, "live_windows_of", lambda *a, **k: (theta, cls, take))
    monkeypatch.setattr(live, "clean_windows_of", lambda *a, **k: clean)
    out, report = tmp_path / "b", tmp_path / "r.json"
    assert live.main(["--bundle", str(WEIGHTS_DIR / "predictor_smpl_improved"), "--out", str(out),
                      "--report", str(report), "--steps", "20", "--hold-out-take", "3"]) == 0
    import json
    r = json.loads(report.read_text())
    assert r["windows"] == {"live": int((take != 3).sum()), "live_held_out": int((take == 3).sum()),
                            "clean": len(clean[1])}
    assert set(r["accuracy_after"]) == {"live_train", "clean_train", "live_held_out_take"}
    again = load_bundle(out, kind="motion_predictor")
    assert again.config.open_set == [] and again.config.temperature == 1.0
    rec = again.training["live_recognizer"]
    assert rec["command"].endswith("--steps 20 --hold-out-take 3") and "open_set_fit" not in again.training
