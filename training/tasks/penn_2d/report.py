"""Write docs/results/paper1_penn.md: Penn Action PCK of Constant, nearest neighbour and the predictor.

    OMP_NUM_THREADS=1 python -m training.tasks.penn_2d.report \
        [--checkpoint runs/paper1_penn_cpu/final] [--split test] [--reuse]

Every method is run through ``training.evaluate`` with ``configs/eval/penn.yaml``; each result
JSON (+ resolved config) goes to ``runs/paper1_penn_eval/``, and the markdown names the command,
the eval and training config hashes and the date. ``--reuse`` takes existing JSONs of the same
eval config hash instead of re-running (the predictor takes a few minutes on one core).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path

from core.config import config_hash, from_dict, read_yaml
from core.errors import cli_errors
from core.paths import REPO_ROOT
from training.eval.report import EvalConfig, write_json

log = logging.getLogger("foresight.penn_report")
EVAL_CONFIG = REPO_ROOT / "configs" / "eval" / "penn.yaml"
OUT = REPO_ROOT / "docs" / "results" / "paper1_penn.md"
JSON_DIR = REPO_ROOT / "runs" / "paper1_penn_eval"
# (label, method, method_options)
RUNS = (("Constant (last observed pose)", "constant", {}),
        ("Nearest neighbour (training windows)", "nearest_neighbor", {}),
        ("Predictor (recognised-class bank)", "predictor", {}),
        ("Predictor (true-class bank)", "predictor", {"oracle_action": True}))
# The Constant reference row is the value this project's paper-1 task statement gave for Constant on
# ground-truth inputs under this protocol; the statement names no publication for it, so it is a
# sanity check of our metric (we land within 0.2), not a published figure. 66.5 is Sun et al.'s own.
REFERENCE = (("Constant from GT inputs, the task statement's reference (no publication named)",
              [99.4, 86.5, 70.9, 50.8, 37.8]),
             ("Sun et al. 2021, from regressed inputs (frame 30 only)", [None, None, None, None, 66.5]))


def _cfg(method: str, options: dict, split: str, checkpoint: str | None) -> EvalConfig:
    data = read_yaml(EVAL_CONFIG) | {"method": method, "method_options": options, "split": split}
    if method == "predictor":
        data["checkpoint"] = checkpoint
    return from_dict(EvalConfig, data)


def _run(label: str, method: str, options: dict, split: str, checkpoint: str | None, reuse: bool) -> dict:
    from training.evaluate import evaluate

    cfg = _cfg(method, options, split, checkpoint)
    stem = method + ("_oracle" if options.get("oracle_action") else "") + f"_{split}"
    path = JSON_DIR / f"{stem}.json"
    h = config_hash(cfg)
    if reuse and path.is_file():
        doc = json.loads(path.read_text())
        if doc.get("config_hash") == h:
            log.info(f"{label}: reusing {path}")
            return doc | {"label": label, "json": str(path)}
    log.info(f"{label}: evaluating ...")
    write_json(path, evaluate(cfg), cfg)
    return json.loads(path.read_text()) | {"label": label, "json": str(path)}


def _train_info(checkpoint: str | None) -> dict:
    """Train config name + hash of the predictor: a bundle's ``training:`` section, or the resolved
    config.yaml of the run a trainer checkpoint belongs to."""
    p = Path(checkpoint) if checkpoint else REPO_ROOT / "runs" / "paper1_penn_cpu" / "final"
    src = p / "bundle.yaml" if p.is_dir() else p.parent / "config.yaml"
    if not src.is_file():
        return {"path": _rel(p)}
    doc = read_yaml(src)
    train = (doc.get("training") or {}) if p.is_dir() else {"config": doc, "config_hash": config_hash(doc)}
    if not train.get("config_hash"):
        return {"path": _rel(p)}
    return {"path": _rel(p), "name": train["config"].get("name", "?"), "hash": train["config_hash"],
            "config": _rel(src)}


def _rel(p: Path) -> str:
    p = p.resolve()
    return str(p.relative_to(REPO_ROOT)) if p.is_relative_to(REPO_ROOT) else str(p)


def protocol_checks(split: str) -> list[tuple[str, list]]:
    """Constant baseline under protocol variants: what each choice moves (frames 1/5/10/20/30)."""
    import dataclasses

    import numpy as np

    from training.tasks.penn_2d import protocol as pp

    def const(w, obs=None, horizons=pp.HORIZONS):
        obs = w.obs if obs is None else obs
        return pp.score(np.repeat(obs[:, -1:], w.fut.shape[1], axis=1), w, horizons)["average"]

    seqs = pp.load_sequences(None, split)
    w = pp.build_windows(seqs)
    raw = np.stack([seqs[i].keypoints[s:s + pp.OBSERVED] for i, s in zip(w.seq_index, w.start)])

    def unsmoothed(s):
        b = pp.box_params(s.keypoints, s.mask)[:, 2]
        return dataclasses.replace(s, crop_scale=np.where(np.isnan(b), np.nanmedian(b), b))
    return [
        ("this protocol", const(w)),
        ("inputs not imputed (raw annotation, placeholders included)", const(w, raw)),
        ("per-frame box, no temporal smoothing", const(pp.build_windows([unsmoothed(s) for s in seqs]))),
        ("'frame k' read as k+1 frames ahead (2/6/11/21/-)", const(w, horizons=(2, 6, 11, 21)) + [None]),
        ("all Penn test clips (HMMR val clips included)",
         const(pp.build_windows(pp.load_sequences(None, "all_test")))),
    ]


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.1f}"


def _table(rows: list[tuple[str, list]], horizons: list[int], first: str = "method") -> list[str]:
    out = [f"| {first} | " + " | ".join(f"frame {h}" for h in horizons) + " |",
           "|---|" + "---:|" * len(horizons)]
    out += [f"| {label} | " + " | ".join(_fmt(v) for v in vals) + " |" for label, vals in rows]
    return out


def _beats(pred: list[float], others: list[list[float]]) -> list[bool]:
    return [all(p > o[i] for o in others) for i, p in enumerate(pred)]


def render(results: list[dict], split: str, train: dict, command: str,
           checks: list[tuple[str, list]] | None = None) -> str:
    horizons = results[0]["horizons"]
    by = {r["label"]: r for r in results}
    rows = [(r["label"], r["average"]) for r in results] + [(l, v) for l, v in REFERENCE]
    lines = [
        "# Paper 1 on Penn Action (2D keypoints): PCK@0.05",
        "",
        f"Written by `{command}` on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC. "
        f"Split `{split}`; {sum(results[0]['windows'].values())} windows from "
        f"{results[0]['extra']['clips']} clips. Higher is better. CMU-Mocap and SMPL results of the same "
        "model: [paper1.md](paper1.md).",
        "",
        "Protocol (`training/tasks/penn_2d/protocol.py`, after HMMR's `eval_util.py` / `smooth_bbox.py` that "
        "PHD's Penn numbers build on): 15 observed -> 30 future frames, a window at every frame of every "
        "HMMR test clip (Penn test clips minus every 10th, which is validation) that has >= 45 frames after "
        "trimming to its annotated frames; per future frame the prediction gets HMMR's scale + translation "
        "fit onto the visible ground-truth joints; a joint is correct within 0.05 x 224 px in a crop where "
        "the keypoint-box diagonal is 150 px (box median- then Gaussian-smoothed over time); frames with "
        "< 6 visible joints are skipped; the score is the mean over clips of per-clip means. Frame 1 is the "
        "first frame after the observed ones. Inputs: invisible observed joints are filled from the observed "
        "frames only (last visible position; annotator estimate if never visible; placeholder (1, 1) -> "
        "centroid); invisible ground truth is never scored or trained on.",
        "",
        "## Average over clips",
        "",
        *_table(rows, horizons),
        "",
    ]
    pred = by.get("Predictor (recognised-class bank)")
    if pred:
        baselines = [by[k]["average"] for k in ("Constant (last observed pose)",
                                                "Nearest neighbour (training windows)") if k in by]
        wins = _beats(pred["average"], baselines)
        lines += [f"Predictor beats Constant and nearest neighbour at frames: "
                  f"{[h for h, w in zip(horizons, wins) if w] or 'none'}; not at: "
                  f"{[h for h, w in zip(horizons, wins) if not w] or 'none'}.", ""]
        gap = REFERENCE[1][1][-1] - pred["average"][-1]
        lines += [f"Gap to the paper at frame 30: {REFERENCE[1][1][-1]} (Sun et al., from regressed inputs) vs "
                  f"{pred['average'][-1]:.1f} here from ground-truth inputs, {gap:+.1f} points. The CPU model is "
                  "8x narrower than the paper's and trains in about 20 minutes on one shared core (see the "
                  "train config's header); the paper's 66.5 is also well above this protocol's Constant and nearest-neighbour "
                  "numbers, so part of the gap may be protocol details that its text does not give.", ""]
        lines += ["## Model on Penn 2D", "",
                  "Pose vector θ = 13 keypoints x (x, y) = 26 numbers per frame, window-normalised "
                  "(centred on the last observed keypoint box, 150 px person = 150/112 units, from observed "
                  "frames only). No β stream (no body model) and no Π stream: the weak-perspective camera is "
                  "absorbed by that normalisation and the metric fits scale + translation per frame. Losses: "
                  "L_parameter and the 2D L_joint weight invisible joints by 0; L_latent encodes targets whose "
                  "invisible joints are interpolated in time; L_prior and L_action (φ = skeleton GCN on the 13 "
                  "2D joints) as for CMU. The memory bank holds per-action short/long dynamics of the 15 Penn "
                  "actions; the recognition network picks the row (`training/tasks/penn_2d/data.py`).", ""]
        lines += ["## Predictor per action (recognised-class bank)", "",
                  *_table(sorted(pred["per_action"].items()), horizons, "action"), ""]
    if checks:
        lines += ["## Protocol checks (Constant baseline under variants)", "",
                  "Against the reference 99.4 / 86.5 / 70.9 / 50.8 / 37.8: frame 1 must be the first future "
                  "frame (reading it as the second drops frame 1 by ~2 points); input imputation of invisible "
                  "joints moves frames 1-5 by up to ~0.7; box smoothing and the val clips move < 0.3.", "",
                  *_table([("Constant, reference", REFERENCE[0][1])] + checks, horizons), ""]
    lines += ["## Runs", "", "| method | eval config hash | result JSON |", "|---|---|---|"]
    lines += [f"| {r['label']} | `{r['config_hash']}` | `{_rel(Path(r['json']))}` |"
              for r in results]
    if pred:
        lines += ["", f"Predictor weights: `{train.get('path')}`"
                  + (f", train config `{train['name']}` hash `{train['hash']}` (`{train['config']}`)."
                     if "hash" in train else " (no training provenance found beside them).")]
    lines += [""]
    lines += ["Reproduce:", "", "```",
              "OMP_NUM_THREADS=1 python -m training.train_predictor --config configs/train/paper1_penn_cpu.yaml "
              "--export runs/paper1_penn_cpu/final",
              "python -m training.evaluate --config configs/eval/penn.yaml --method constant",
              "python -m training.evaluate --config configs/eval/penn.yaml --method nearest_neighbor",
              "python -m training.evaluate --config configs/eval/penn.yaml --method predictor "
              "--checkpoint runs/paper1_penn_cpu/final",
              command, "```", ""]
    return "\n".join(lines)


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.tasks.penn_2d.report", description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default=None, help="predictor weights (default runs/paper1_penn_cpu/final)")
    ap.add_argument("--split", default="test", choices=["test", "val", "all_test"])
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--reuse", action="store_true", help="reuse result JSONs with the same eval config hash")
    ap.add_argument("--skip-predictor", action="store_true", help="baselines only (no trained model yet)")
    ap.add_argument("--no-checks", action="store_true", help="skip the Constant protocol-variant table")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    runs = [r for r in RUNS if not (args.skip_predictor and r[1] == "predictor")]
    results = [_run(label, m, o, args.split, args.checkpoint, args.reuse) for label, m, o in runs]
    command = "python -m training.tasks.penn_2d.report " + " ".join(sys.argv[1:] if argv is None else argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    checks = None if args.no_checks else protocol_checks(args.split)
    out.write_text(render(results, args.split, _train_info(args.checkpoint), command.strip(), checks))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
