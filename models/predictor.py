"""Action-guided memory-bank motion predictor (Sun et al., "Action-guided 3D Human Motion
Prediction", NeurIPS 2021) — the first runnable implementation (no official code exists).

Per frame the body is a pose vector θ (D numbers: SMPL axis-angle D=72, CMU exp-map angles, Penn 2D
keypoints ...) plus optional shape β and weak-perspective camera Π streams. Each stream has
  encoder  : 3 stacked FC-ReLU-BN blocks lifting it to a latent (paper: 1024 / 256 / 64),
  LSTM     : an unrolled ``nn.LSTMCell`` (hidden = latent size) predicting the next latent,
  decoder  : FC-ReLU-BN blocks back to the stream's own space.
The θ stream additionally reads the action-guided memory bank (``models.memory_bank``):
  * in prediction: query from the last Δt/2 latents, keys from the first half S^f of each bank item,
    values from the latter half S^l, for the short- and the long-term bank; both reads are
    concatenated with the latent B_t as the LSTM input;
  * in decoding: query from the last Δt latents, keys and values from the full items; the reads are
    concatenated with the latent into the decoder.
The bank row is picked by the recognition network's arg-max class (``models.action_nets``).

Datasets without β / Π (CMU exp-map, Penn 2D): ``beta_dim: 0`` / ``pi_dim: 0`` removes those streams.

Deviation (stated): ``anchor_residual`` outputs θ_T + Dec(B̂_t) − Dec(B_T), i.e. the decoded
*change* since the last observed frame T. This is the residual trick of Martinez et al. (CVPR 2017)
that every competitive predictor uses; it makes "no motion" exactly representable so the
autoencoder's reconstruction error does not add to every horizon. ``anchor_residual: false`` gives
the paper's plain decoding.

Export: fixed-length loops over ``nn.LSTMCell``, one-hot bank selection, masks instead of ragged banks
(``torch.export.export(model.eval(), (theta_obs,))`` works, tests/paper1; CUDA graphs capture it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from core.errors import ForesightError
from models.action_nets import ActionRecognizer
from models.baseline_gate import check_gate, gate_forecast
from models.bundle import BundleKind
from models.config_tensors import ConfigTensors
from models.dct_refine import DctRefiner
from models.flip import check_flip, mirror
from models.memory_bank import BankRead, MemoryBank
from models.open_set import open_set_probs
from models.streams import Stream, seq


@dataclass
class PredictorConfig:
    pose_dim: int = 0  # D; 0 = filled in from the data by the trainer
    beta_dim: int = 0  # 0 disables the β stream
    pi_dim: int = 0  # 0 disables the Π stream
    num_actions: int = 0  # 0 = from the data
    action_names: list[str] = field(default_factory=list)
    n_obs: int = 10
    n_future: int = 25
    pose_latent: int = 1024
    beta_latent: int = 256
    pi_latent: int = 64
    key_dim: int = 512
    value_dim: int = 512
    dt: int = 8  # Δt, frames per bank item
    long_k: int = 3  # K, frame step of long-term items (builder setting, recorded here)
    max_bank_items: int = 64  # M, bank rows padded to this many items
    bank_in_prediction: bool = True
    bank_in_decoding: bool = True
    use_long_bank: bool = True  # false = "short-term only" ablation
    action_input: Literal["bank", "onehot", "none"] = "bank"  # onehot = label instead of bank
    agnostic_only: bool = False  # always read the action-agnostic row (ablation)
    fallback_threshold: float = 0.5  # recogniser confidence below this -> agnostic bank
    novelty_fallback: bool = True  # recent motion unlike the class's bank -> agnostic bank
    # leading pose channels the novelty distance ignores: SMPL θ's first 3 are the global orientation,
    # and a live camera sees people at any heading, which is not what makes motion novel
    novelty_skip: int = 0
    anchor_residual: bool = True
    recog_hidden: int = 128
    # DCT-residual refinement (models.dct_refine): not in the paper, 0 blocks = the paper's model
    refine_blocks: int = 0
    refine_width: int = 128
    # open-set recognition (models.open_set), fitted after training by training/open_set.py:
    temperature: float = 1.0  # recogniser logits / temperature (1 = the raw softmax)
    open_set: list[float] = field(default_factory=list)  # [w0, w1, w2] of p(other); [] = closed set
    # mix with constant / zero velocity (models.baseline_gate), fitted by training/fit_gate.py:
    gate: list[list[list[float]]] = field(default_factory=list)  # (T_f, 3, 1+F); [] = the model alone
    gate_inputs: list[str] = field(default_factory=list)  # the F features; [] = r [, logit_p_other] by width
    gate_cv: Literal["linear", "rotation"] = "linear"  # its constant-velocity expert; rotation: SMPL θ only
    # test-time flip (models.flip), set by training/flip_average.py: [] = one forecast
    flip_perm: list[int] = field(default_factory=list)  # (D,) mirror image channel i = sign[i] * pose[perm[i]]
    flip_sign: list[float] = field(default_factory=list)  # (D,) ±1
    fps: float = 25.0  # frame rate the model was trained at: observed frames must be 1/fps apart

    def __post_init__(self):
        if self.dt < 2 or self.dt % 2:
            raise ValueError(f"dt must be an even number >= 2, got {self.dt}")
        if min(self.n_obs, self.n_future) < 1:
            raise ValueError("n_obs and n_future must be >= 1")
        if self.novelty_skip < 0:
            raise ValueError(f"novelty_skip must be >= 0, got {self.novelty_skip}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.open_set and (len(self.open_set) != 3 or self.action_input != "bank"):
            raise ValueError("open_set needs 3 weights [w0, w1, w2] and action_input: bank")
        check_gate(self.gate, self.n_future, bool(self.open_set), self.gate_inputs, self.n_obs,
                   cv=self.gate_cv, pose_dim=self.pose_dim)
        check_flip(self.flip_perm, self.flip_sign, self.pose_dim)


@dataclass
class PredictorServing:
    """bundle.yaml `serving:` of a motion predictor: what a streaming session feeds it."""
    # what one pose vector is: SMPL axis-angle θ (72), CMU exp-map angles, Penn 2D keypoints (26)
    representation: Literal["smpl_theta", "cmu_expmap", "penn_2d", "synthetic"]
    fps: float          # observed and forecast frames are 1/fps apart (= model.fps)
    window: int         # observed frames per forecast, newest last (= model.n_obs)
    horizon: int        # forecast frames, 1/fps .. horizon/fps after the newest (= model.n_future)
    labels: list[str]   # recogniser classes = memory-bank rows 0..A-1; row A is the action-agnostic bank


class MotionPredictor(nn.Module):
    """forward(theta_obs (B,T_o,D), beta_obs?, pi_obs?, action_probs?) -> dict of predictions."""

    def __init__(self, cfg: PredictorConfig):
        super().__init__()
        if cfg.pose_dim < 1 or cfg.num_actions < 1:
            raise ValueError("PredictorConfig.pose_dim and num_actions must be set (>= 1)")
        self.cfg, self.consts = cfg, ConfigTensors()  # consts: the open-set weights and gate as tensors, once
        d, lat = cfg.pose_dim, cfg.pose_latent
        self.register_buffer("pose_mean", torch.zeros(d))  # (D,) data statistics: input
        self.register_buffer("pose_std", torch.ones(d))  # normalisation and the Gaussian prior
        self.recognizer = ActionRecognizer(pose_dim=d, num_actions=cfg.num_actions, hidden=cfg.recog_hidden)
        self.bank = MemoryBank(num_actions=cfg.num_actions, max_items=cfg.max_bank_items, dt=cfg.dt, pose_dim=d)
        nb = 2 if cfg.use_long_bank else 1
        use_bank = cfg.action_input == "bank"
        onehot = cfg.num_actions if cfg.action_input == "onehot" else 0
        pred_extra = (nb * cfg.value_dim if use_bank and cfg.bank_in_prediction else 0) + onehot
        dec_extra = (nb * cfg.value_dim if use_bank and cfg.bank_in_decoding else 0) + onehot
        half = cfg.dt // 2
        mk = lambda part, qlen: nn.ModuleList(BankRead(  # noqa: E731  one read per bank (short, long)
            dt=cfg.dt, pose_dim=d, query_dim=qlen * lat, key_dim=cfg.key_dim, value_dim=cfg.value_dim,
            part=part) for _ in range(nb))
        self.pred_reads = mk("split", half) if use_bank and cfg.bank_in_prediction else nn.ModuleList()
        self.dec_reads = mk("full", cfg.dt) if use_bank and cfg.bank_in_decoding else nn.ModuleList()
        self.pose = Stream(d, lat, pred_extra, dec_extra)
        self.beta = Stream(cfg.beta_dim, cfg.beta_latent, 0, 0) if cfg.beta_dim else None
        self.pi = Stream(cfg.pi_dim, cfg.pi_latent, 0, 0) if cfg.pi_dim else None
        self.refiner = (DctRefiner(pose_dim=d, n_obs=cfg.n_obs, n_future=cfg.n_future, width=cfg.refine_width,
                                   blocks=cfg.refine_blocks) if cfg.refine_blocks else None)

    # ------------------------------------------------------------------ helpers
    def normalize(self, theta: torch.Tensor) -> torch.Tensor:
        return (theta - self.pose_mean) / self.pose_std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.pose_std + self.pose_mean

    def novelty_scale(self) -> torch.Tensor:
        """(D,) weights of the bank novelty distance: 1 / data std, 0 on the ``novelty_skip`` channels."""
        keep = (torch.arange(self.cfg.pose_dim, device=self.pose_std.device) >= self.cfg.novelty_skip)
        return keep.to(self.pose_std.dtype) / self.pose_std

    def action_selection(self, theta_obs: torch.Tensor, action_probs: torch.Tensor | None):
        """-> recogniser logits (B, A), the probabilities used and the (B, A+1) bank selection.

        The probabilities are (B, A), or (B, A+1) with ``other`` last for an open-set model
        (``open_set`` weights set, models.open_set) when no ``action_probs`` override is given;
        ``other`` selects the action-agnostic row."""
        cfg = self.cfg
        logits = self.recognizer(self.normalize(theta_obs))
        if action_probs is None and cfg.open_set:
            probs = self.open_set_probs(logits, theta_obs)  # (B, A+1)
            a = cfg.num_actions
            has_bank = torch.cat([self.bank.short_mask[:a].sum(1) > 0, probs.new_ones(1, dtype=torch.bool)])  # (A+1,)
            idx = probs.argmax(-1)
            idx = torch.where(has_bank[idx], idx, torch.full_like(idx, a))
            return logits, probs, nn.functional.one_hot(idx, a + 1).to(probs.dtype)
        probs = (logits / cfg.temperature).softmax(-1) if action_probs is None else action_probs
        recent = theta_obs[:, -cfg.dt:] if cfg.novelty_fallback else None  # (B, <=Δt, D)
        sel = self.bank.selection(probs, cfg.fallback_threshold, cfg.agnostic_only, recent, self.novelty_scale())
        return logits, probs, sel

    def novelty_ratio(self, theta_obs: torch.Tensor) -> torch.Tensor:
        """(B, T_o, D) -> (B,): the recent frames' distance to the nearest class's bank over its threshold."""
        return self.bank.novelty_ratios(theta_obs[:, -self.cfg.dt:], self.novelty_scale()).min(-1).values

    def open_set_probs(self, logits: torch.Tensor, theta_obs: torch.Tensor) -> torch.Tensor:
        """(B, A) logits and the observed window -> (B, A+1) open-set probabilities (models.open_set)."""
        return open_set_probs(logits, self.cfg.temperature, self.novelty_ratio(theta_obs),
                              self.consts.get("open_set", self.cfg.open_set, logits))

    def memories(self, sel: torch.Tensor, reads: nn.ModuleList, where: str,
                 bank_kv: dict | None = None) -> list[tuple[torch.Tensor, ...]]:
        """Keys/values/mask of the selected short (and long) bank for each read module.

        Keys and values are projected once per bank row (A+1 rows) and then picked by the one-hot
        selection — B times cheaper than projecting each sample's copy of its bank. `bank_kv` (from
        `project_bank`, held by a serving wrapper) skips even that: the projection depends only on
        the weights and the bank, not on the input.
        """
        out = []
        for read, name in zip(reads, ("short", "long")):
            key = f"{where}_{name}"
            keys, values = (bank_kv[key] if bank_kv is not None
                            else read.memory(self.normalize(getattr(self.bank, name))))   # (A+1, M, C)
            mask = getattr(self.bank, name + "_mask")  # (A+1, M)
            out.append((torch.einsum("ba,amc->bmc", sel, keys), torch.einsum("ba,amc->bmc", sel, values),
                        sel @ mask))
        return out

    @torch.no_grad()
    def project_bank(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """{"pred_short"|"pred_long"|"dec_short"|"dec_long": (keys, values) (A+1, M, C)}: every bank
        row's projected keys and values, for a serving wrapper to keep (models.streaming)."""
        return {f"{where}_{name}": read.memory(self.normalize(getattr(self.bank, name)))
                for where, reads in (("pred", self.pred_reads), ("dec", self.dec_reads))
                for read, name in zip(reads, ("short", "long"))}

    @staticmethod
    def _window(hist: list[torch.Tensor], n: int) -> torch.Tensor:
        """Concatenate the last ``n`` latents (front-padded with the first) -> (B, n*L)."""
        t = len(hist)
        return torch.cat([hist[max(0, t - n + i)] for i in range(n)], -1)

    def _read_all(self, reads: nn.ModuleList, mems, query: torch.Tensor) -> list[torch.Tensor]:
        return [r.read(query, k, v, m) for r, (k, v, m) in zip(reads, mems)]

    # ------------------------------------------------------------------ decoding
    def decode_pose(self, z: torch.Tensor, sel: torch.Tensor, probs: torch.Tensor,
                    bank_kv: dict | None = None) -> torch.Tensor:
        """Latents (B, T, L) -> normalised θ (B, T, D); decoding-bank read from the last Δt latents."""
        extra = []
        if len(self.dec_reads):
            dt = self.cfg.dt
            padded = torch.cat([z[:, :1].expand(-1, dt - 1, -1), z], 1)  # (B, T+Δt-1, L)
            # (B, T, Δt*L): the Δt shifted views side by side -- unfold(1, Δt, 1).transpose(2, 3)
            # .flatten(2) in slices, which ONNX exports with a dynamic batch (unfold needs static sizes)
            T = z.shape[1]
            win = torch.cat([padded[:, i:i + T] for i in range(dt)], -1)
            extra = self._read_all(self.dec_reads, self.memories(sel, self.dec_reads, "dec", bank_kv), win)
        if self.cfg.action_input == "onehot":
            extra.append(probs[:, None].expand(-1, z.shape[1], -1))
        return seq(self.pose.dec, torch.cat([z, *extra], -1))

    def autoencode(self, theta: torch.Tensor, action_probs: torch.Tensor) -> torch.Tensor:
        """Stage-1 path: θ (B, T, D) -> reconstructed θ (B, T, D) through encoder and decoder."""
        sel = self.bank.selection(action_probs, self.cfg.fallback_threshold, self.cfg.agnostic_only)
        z = seq(self.pose.enc, self.normalize(theta))
        return self.denormalize(self.decode_pose(z, sel, action_probs))

    def encode_pose(self, theta: torch.Tensor) -> torch.Tensor:
        """θ (B, T, D) -> latents (B, T, L) (targets of the latent loss)."""
        return seq(self.pose.enc, self.normalize(theta))

    # ------------------------------------------------------------------ prediction
    def _rollout_pose(self, z_obs: torch.Tensor, sel: torch.Tensor, probs: torch.Tensor,
                      bank_kv: dict | None = None) -> torch.Tensor:
        """Observed latents (B, T_o, L) -> predicted latents (B, T_f, L), autoregressively."""
        cfg = self.cfg
        mems = self.memories(sel, self.pred_reads, "pred", bank_kv)
        h = z_obs.new_zeros(z_obs.shape[0], cfg.pose_latent)
        c = torch.zeros_like(h)
        hist = list(z_obs.unbind(1))
        preds = []
        for t in range(cfg.n_obs - 1 + cfg.n_future):  # warm up on observed frames, then predict
            cur = hist[t]
            extra = self._read_all(self.pred_reads, mems, self._window(hist[: t + 1], cfg.dt // 2))
            if cfg.action_input == "onehot":
                extra.append(probs)
            h, c = self.pose.cell(torch.cat([cur, *extra], -1), (h, c))
            if t >= cfg.n_obs - 1:
                nxt = cur + self.pose.step(h)
                hist.append(nxt)
                preds.append(nxt)
        return torch.stack(preds, 1)

    def _rollout_plain(self, stream: Stream, x_obs: torch.Tensor) -> torch.Tensor:
        """β / Π stream (no bank): (B, T_o, C) -> (B, T_f, C)."""
        cfg = self.cfg
        z_obs = seq(stream.enc, x_obs)
        h = z_obs.new_zeros(z_obs.shape[0], z_obs.shape[-1])
        c = torch.zeros_like(h)
        hist = list(z_obs.unbind(1))
        for t in range(cfg.n_obs - 1 + cfg.n_future):
            h, c = stream.cell(hist[t], (h, c))
            if t >= cfg.n_obs - 1:
                hist.append(hist[t] + stream.step(h))
        dec = seq(stream.dec, torch.stack(hist[cfg.n_obs - 1:], 1))  # (B, 1+T_f, C)
        if cfg.anchor_residual:
            return x_obs[:, -1:] + dec[:, 1:] - dec[:, :1]
        return dec[:, 1:]

    def forward(self, theta_obs: torch.Tensor, beta_obs: torch.Tensor | None = None,
                pi_obs: torch.Tensor | None = None, action_probs: torch.Tensor | None = None,
                bank_kv: dict | None = None) -> dict[str, torch.Tensor]:
        """theta_obs (B, T_o, D) [beta_obs (B, T_o, Db), pi_obs (B, T_o, Dp), action_probs (B, A)].

        ``action_probs`` overrides the recogniser (ground-truth labels, degraded-recognition
        ablation); otherwise the recogniser's softmax picks the bank. ``bank_kv``: the bank's
        projected keys/values kept by a serving wrapper (``project_bank``). Returns theta (B, T_f, D)
        (refined, gated and flip-averaged when configured), latent (B, T_f, L), logits (B, A), probs (B, A) or
        (B, A+1) (open set: ``other`` last), selection (B, A+1) [, beta (B, T_f, Db), pi (B, T_f, Dp)].
        """
        if self.cfg.flip_perm:  # the mirror image's forecast mirrored back; labels etc. from the window itself
            b = theta_obs.shape[0]  # both views in one batch: at batch 1 one call costs far less than two
            both = self._forecast(torch.cat([theta_obs, mirror(self, theta_obs)]),
                                  None if action_probs is None else action_probs.repeat(2, 1), bank_kv)
            res = {k: v[:b] for k, v in both.items()}
            res["theta"] = 0.5 * (res["theta"] + mirror(self, both["theta"][b:]))
        else:
            res = self._forecast(theta_obs, action_probs, bank_kv)
        if self.beta is not None and beta_obs is not None:
            res["beta"] = self._rollout_plain(self.beta, beta_obs)
        if self.pi is not None and pi_obs is not None:
            res["pi"] = self._rollout_plain(self.pi, pi_obs)
        return res

    def _forecast(self, theta_obs: torch.Tensor, action_probs: torch.Tensor | None, bank_kv: dict | None) -> dict:
        """One view's pose forecast: forward's dict without beta / pi."""
        logits, probs, sel = self.action_selection(theta_obs, action_probs)
        x = self.normalize(theta_obs)
        z_obs = seq(self.pose.enc, x)  # (B, T_o, L)
        z_pred = self._rollout_pose(z_obs, sel, probs, bank_kv)  # (B, T_f, L)
        dec = self.decode_pose(torch.cat([z_obs, z_pred], 1), sel, probs, bank_kv)  # (B, T_o+T_f, D)
        t_o = theta_obs.shape[1]
        out = x[:, -1:] + dec[:, t_o:] - dec[:, t_o - 1:t_o] if self.cfg.anchor_residual else dec[:, t_o:]
        out = out if self.refiner is None else self.refiner(x, out)  # (B, T_f, D) normalised
        if self.cfg.gate:  # (T_f, 3, 1+F)
            out = gate_forecast(self, theta_obs=theta_obs, x=x, out=out, logits=logits, probs=probs)
        return {"theta": self.denormalize(out), "latent": z_pred, "logits": logits, "probs": probs, "selection": sel}

    @torch.no_grad()
    def forecast(self, theta_obs, beta_obs=None, pi_obs=None) -> dict[str, np.ndarray]:
        """Convenience for runtime nodes: numpy in, numpy out, eval mode, no autograd.

        theta_obs: (T_o, D) or (B, T_o, D) observed pose vectors at ``cfg.fps`` (the last frame is
        the newest); beta_obs / pi_obs likewise when the model has those streams. Returns
        {"theta": (T_f, D) or (B, T_f, D), "action": int arg-max class (or (B,)),
        "action_probs": (A,) or (B, A), "bank_row": index of the bank read (A = agnostic)}.
        """
        single = np.ndim(theta_obs) == 2
        dev = self.pose_mean.device
        def prep(x, dim, name):
            if x is None:
                return None
            t = torch.as_tensor(np.asarray(x, dtype=np.float32), device=dev)
            t = t[None] if single else t
            if t.ndim != 3 or t.shape[1] != self.cfg.n_obs or t.shape[2] != dim:
                raise ForesightError(f"{name} must be ({self.cfg.n_obs}, {dim}) or (B, {self.cfg.n_obs}, {dim}), "
                                     f"got {tuple(np.shape(x))}")
            if not torch.isfinite(t).all():
                raise ForesightError(f"{name} contains NaN/inf")
            return t
        th = prep(theta_obs, self.cfg.pose_dim, "theta_obs")
        be = prep(beta_obs, self.cfg.beta_dim, "beta_obs") if self.beta is not None else None
        pi = prep(pi_obs, self.cfg.pi_dim, "pi_obs") if self.pi is not None else None
        was = self.training
        self.eval()
        out = self(th, be, pi)
        self.train(was)
        probs = out["probs"]  # (B, A), or (B, A+1) with "other" last (open set)
        res = {"theta": out["theta"], "action": probs.argmax(-1), "action_probs": probs,
               "bank_row": out["selection"].argmax(-1)}
        for k in ("beta", "pi"):
            if k in out:
                res[k] = out[k]
        return {k: (v[0] if single else v).cpu().numpy() for k, v in res.items()}


def _check_serving(cfg: PredictorConfig, serving: PredictorServing) -> str | None:
    pairs = (("fps", serving.fps, "fps", cfg.fps), ("window", serving.window, "n_obs", cfg.n_obs),
             ("horizon", serving.horizon, "n_future", cfg.n_future))
    for name, have, field_name, want in pairs:
        if have != want:
            return f"serving.{name} {have} != model.{field_name} {want}"
    if len(serving.labels) != cfg.num_actions:
        return f"serving.labels has {len(serving.labels)} names, model.num_actions is {cfg.num_actions}"
    if cfg.action_names and list(serving.labels) != list(cfg.action_names):
        return "serving.labels differ from model.action_names"
    return None


def serving_for(cfg: PredictorConfig, representation: str) -> PredictorServing:
    """The serving section of a trained predictor (its labels default to action_<i>)."""
    labels = list(cfg.action_names) or [f"action_{i}" for i in range(cfg.num_actions)]
    return PredictorServing(representation=representation, fps=cfg.fps, window=cfg.n_obs,
                            horizon=cfg.n_future, labels=labels)


BUNDLE_KIND = BundleKind(name="motion_predictor", title="action-guided memory-bank motion predictor "
                         "(Sun et al., NeurIPS 2021)", config=PredictorConfig, serving=PredictorServing,
                         build=MotionPredictor, check=_check_serving)
