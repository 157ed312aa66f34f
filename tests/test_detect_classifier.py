"""Features on tiny clips, the estimator contract, and safe (pickle-free) save/load."""

import zipfile

import numpy as np
import pytest
from sklearn.base import clone

from detect.classifier import ForensicClassifier, load_model, save_model
from detect.features import FEATURE_NAMES, N_BINS, clip_features, radial_profile
from detect.normalize import FRAMES, SIZE, normalize_clip
from provenance.errors import InputError
from provenance.media import Clip


def _noise_clip(seed, t=20, h=72, w=96, fps=24.0, smooth=False):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h, w, 3)).astype(np.float32)
    frames = []
    for i in range(t):
        f = np.roll(base, i * 2, axis=1) + rng.normal(0, 6, base.shape)
        if smooth:
            f = (f + np.roll(f, 1, 0) + np.roll(f, 1, 1) + np.roll(f, 1, (0, 1))) / 4
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
    return Clip(frames=np.stack(frames), fps=fps)


def test_normalize_resamples_resizes_and_exports_motion_vectors():
    norm = normalize_clip(_noise_clip(0, t=60, fps=30.0))
    assert norm.frames.shape == (FRAMES, SIZE, SIZE, 3)
    assert len(norm.motion_vectors) == FRAMES
    assert sum(len(m) for m in norm.motion_vectors) > 0          # P-frames carry vectors


def test_normalize_makes_length_and_rate_invisible():
    # the same content at 2 frame rates and 2 lengths: same frame budget after normalisation
    a = normalize_clip(_noise_clip(1, t=48, fps=24.0))
    b = normalize_clip(_noise_clip(1, t=100, fps=24.0))
    assert a.frames.shape == b.frames.shape


def test_too_short_is_an_input_error():
    with pytest.raises(InputError, match="too short"):
        normalize_clip(_noise_clip(0, t=2))


def test_features_are_finite_named_and_respond_to_smoothing():
    f_sharp = clip_features(normalize_clip(_noise_clip(2)))
    f_smooth = clip_features(normalize_clip(_noise_clip(2, smooth=True)))
    assert f_sharp.shape == (len(FEATURE_NAMES),) and np.isfinite(f_sharp).all()
    hi = FEATURE_NAMES.index(f"fft_frame_{N_BINS - 1}")
    assert f_smooth[hi] < f_sharp[hi]                              # smoothing removes high frequencies
    assert f_sharp[FEATURE_NAMES.index("mv_moving_frac")] > 0      # the clip pans: motion vectors move


def test_radial_profile_of_white_noise_is_flat():
    rng = np.random.default_rng(0)
    prof = radial_profile(rng.normal(size=(4, 64, 64)).astype(np.float32))
    assert np.ptp(prof[2:-1]) < 0.3


def _toy_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(FEATURE_NAMES)))
    y = np.arange(n) % 2
    X[y == 1, :3] += 1.5
    return X, y, np.arange(n) // 4


def test_estimator_contract():
    X, y, g = _toy_data()
    est = ForensicClassifier(C=1.0)
    assert est.fit(X, y, groups=g) is est
    learned = [k for k in vars(est) if k.endswith("_") and not k.startswith("_")]
    assert "calibrated_" in learned and "classes_" in learned and "n_features_in_" in learned
    p = est.predict_proba(X)
    assert p.shape == (len(X), 2)
    assert np.allclose(p.sum(axis=1), 1)
    assert (p > 0).all() and (p < 1).all()
    # extreme inputs still never give 0 or 1
    p_far = est.predict_proba(np.vstack([X[:1] * 1e6, -X[:1] * 1e6]))
    assert (p_far > 0).all() and (p_far < 1).all()
    assert (est.predict(X) == y).mean() > 0.8
    assert clone(est).get_params() == est.get_params()
    assert not hasattr(clone(est), "calibrated_")
    with pytest.raises(ValueError):
        est.predict_proba(X[:, :5])                                # wrong feature count


def test_save_load_round_trip_without_pickle(tmp_path):
    X, y, g = _toy_data()
    est = ForensicClassifier().fit(X, y, groups=g)
    path = save_model(est, tmp_path / "m.skops", {"name": "toy"})
    with zipfile.ZipFile(path) as zf:                              # skops: a zip of JSON + npy, no pickle
        assert not any(n.endswith((".pkl", ".pickle")) for n in zf.namelist())
    again = load_model(path)
    assert np.allclose(again.predict_proba(X), est.predict_proba(X))
    assert again.meta_["name"] == "toy"
    with pytest.raises(Exception):
        save_model(est, path, {"name": "toy"})                     # no clobber without force


def test_garbage_model_file_is_refused(tmp_path):
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(InputError):
        load_model(bad)
