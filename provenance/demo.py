"""``framemark demo``: make a short sample clip, sign it, verify it, print the card.

Each step is its own small function so that later stages (the generator in place
of :func:`make_sample_clip`, the detector after :func:`verify_output`) slot in.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["sample_frames", "make_sample_clip", "ensure_identity", "sign_sample", "verify_output", "run_demo"]

SAMPLE_NAME = "sample.mp4"
SIGNED_NAME = "sample.signed.mp4"


def sample_frames(frames: int = 48, width: int = 256, height: int = 144) -> np.ndarray:
    """A ball bouncing over a moving gradient: uint8 [T, H, W, 3], deterministic."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    r = height // 8
    for t in range(frames):
        phase = t / frames * 2 * np.pi
        bg = np.stack([128 + 100 * np.sin(xx / width * 2 * np.pi + phase),
                       128 + 100 * np.sin(yy / height * 2 * np.pi - phase),
                       np.full_like(xx, 160)], axis=-1)
        cx = r + (width - 2 * r) * (0.5 + 0.5 * np.sin(phase))
        cy = r + (height - 2 * r) * abs(np.cos(phase * 1.5))
        ball = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        bg[ball] = (250, 220, 30)
        out[t] = np.clip(bg, 0, 255).astype(np.uint8)
    return out


def make_sample_clip(path: Path, fps: float = 24.0) -> Path:
    """Encode the sample (2 s, H.264) to ``path`` (the caller owns atomicity)."""
    from .media import Clip, write_clip

    return write_clip(path, Clip(frames=sample_frames(), fps=fps), crf=20, preset="fast")


def ensure_identity(keys_dir=None):
    """The identity in ``keys_dir`` (default folder rules), created when there is none."""
    from .keys import IDENTITY_FILE, SIGNER_FILE, init_identity, load_identity, resolve_keys_dir

    kd = resolve_keys_dir(keys_dir)
    if not (kd / SIGNER_FILE).exists() and not (kd / IDENTITY_FILE).exists():
        return init_identity(kd), True
    return load_identity(kd), False


def sign_sample(src: Path, dst: Path, identity, force: bool):
    from .sign import sign_file

    return sign_file(src, dst, identity, source_type="algorithmicMedia", title="framemark demo clip",
                     assertions=[{"label": "org.framemark.demo", "data": {"what": "procedural sample clip"}}],
                     force=force)


def verify_output(path: Path, keys_dir=None) -> dict:
    from .verify import verify_file

    return verify_file(path, keys_dir=keys_dir).to_dict()


def run_demo(out_dir, keys_dir=None, force: bool = False, as_json: bool = False) -> int:
    from .errors import UsageError
    from .fileio import atomic_output, check_output_path
    from .report import render_card
    from .sign import OUTPUT_MODE

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    sample, signed = out_dir / SAMPLE_NAME, out_dir / SIGNED_NAME
    for p in (sample, signed):
        check_output_path(p, force)  # fail before any work
    identity, created = ensure_identity(keys_dir)
    with atomic_output(sample, force=force, mode=OUTPUT_MODE) as tmp:
        make_sample_clip(tmp)
    result = sign_sample(sample, signed, identity, force)
    report = verify_output(signed, keys_dir=identity.keys_dir)
    if as_json:
        print(json.dumps({"sample": str(sample), "signed": str(signed), "keys_dir": str(identity.keys_dir),
                          "identity_created": created, "manifest_id": result.manifest_id, "report": report},
                         indent=2))
    else:
        if created:
            print(f"created a signing identity in {identity.keys_dir}")
        print(f"sample clip   {sample}")
        print(f"signed clip   {signed}  (manifest {result.manifest_id})")
        print()
        print(render_card(report))
        print()
        print(f"next: framemark verify {signed}  |  framemark verify {sample}")
    return 0 if report["state"] in ("trusted", "valid") else 1


