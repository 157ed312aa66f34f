"""The forensic classifier: a scikit-learn estimator over :mod:`detect.features`.

``ForensicClassifier`` is a proper estimator: ``fit`` returns ``self``, learned
attributes end in ``_``, ``get_params``/``set_params``/``clone`` work. Inside it is
``CalibratedClassifierCV(Pipeline([StandardScaler, LogisticRegression]))`` with
sigmoid (Platt) calibration on held-out folds (grouped by source when groups are
given, so windows of one video never calibrate one another), and every probability
is clipped to ``[eps, 1 - eps]``: the classifier never says 0 or 1.

Label 1 means *generated*, 0 means *real*. Models are saved with skops and loaded
with an explicit list of trusted types (:data:`TRUSTED_TYPES`); anything else in a
file is refused, so a model file cannot run code on load. No pickle anywhere.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from provenance.errors import InputError, UsageError

from .features import FEATURE_NAMES

__all__ = ["ForensicClassifier", "save_model", "load_model", "default_model_path", "TRUSTED_TYPES",
           "DEFAULT_MODEL_PATH"]

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "forensic-default.skops"

#: every type a framemark model file may contain; skops refuses to load anything else
TRUSTED_TYPES = [
    "detect.classifier.ForensicClassifier",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.model_selection._split.GroupKFold",
    "builtins.tuple",
    "builtins.list",
    "builtins.dict",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
]


class ForensicClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated logistic regression on standardised forensic features.

    Parameters
    ----------
    C : inverse regularisation strength of the logistic regression.
    cv : calibration folds.
    eps : probabilities are clipped to ``[eps, 1 - eps]``.
    threshold : ``predict`` (and the ``likely-ai`` verdict) use ``P(generated) >= threshold``.
    """

    def __init__(self, C: float = 0.1, cv: int = 3, eps: float = 1e-3, threshold: float = 0.5):
        self.C = C
        self.cv = cv
        self.eps = eps
        self.threshold = threshold

    def fit(self, X, y, groups=None):
        X, y = validate_data(self, X, y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise UsageError(f"the classifier needs two classes (real and generated), got {len(self.classes_)}")
        if not 0 < self.eps < 0.5:
            raise UsageError(f"eps must be in (0, 0.5), got {self.eps}")
        counts = np.bincount(np.searchsorted(self.classes_, y))
        folds = int(min(self.cv, counts.min()))
        if folds < 2:
            raise UsageError("each class needs at least 2 clips to calibrate the classifier")
        if groups is not None and len(np.unique(groups)) >= folds:
            # calibrate on sources the model did not see: windows of one video stay together
            splitter = GroupKFold(n_splits=folds)
            cv = list(splitter.split(X, y, groups))
            # a fold with one class cannot calibrate; fall back to stratified folds then
            if any(len(np.unique(y[test])) < 2 or len(np.unique(y[train])) < 2 for train, test in cv):
                cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        else:
            cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        base = Pipeline([
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=self.C, max_iter=5000, class_weight="balanced")),
        ])
        self.calibrated_ = CalibratedClassifierCV(base, method="sigmoid", cv=cv).fit(X, y)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "calibrated_")
        X = validate_data(self, X, reset=False)
        p = self.calibrated_.predict_proba(X)[:, 1]
        p = np.clip(p, self.eps, 1.0 - self.eps)
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= self.threshold).astype(int)]

    def decision_function(self, X) -> np.ndarray:
        p = self.predict_proba(X)[:, 1]
        return np.log(p / (1.0 - p))


def default_model_path() -> Path:
    return DEFAULT_MODEL_PATH


def save_model(estimator: ForensicClassifier, path: str | Path, meta: dict, force: bool = False) -> Path:
    """Write a fitted classifier and its metadata (features, normalisation, data) with skops."""
    import skops.io as sio

    from provenance.fileio import atomic_output

    check_is_fitted(estimator, "calibrated_")
    estimator.meta_ = {**meta, "feature_names": list(FEATURE_NAMES)}
    with atomic_output(path, force=force) as tmp:
        sio.dump(estimator, tmp)
    return Path(path)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float) -> ForensicClassifier:
    import skops.io as sio

    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a model file"
        raise InputError(f"{path}: not a framemark model file ({type(exc).__name__})") from None
    if untrusted:
        raise InputError(f"{path}: model file contains untrusted types {untrusted[:3]}; refusing to load it")
    try:
        est = sio.load(path, trusted=TRUSTED_TYPES)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: cannot load the model ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(est, ForensicClassifier) or not hasattr(est, "calibrated_"):
        raise InputError(f"{path}: not a fitted framemark forensic classifier")
    names = (getattr(est, "meta_", None) or {}).get("feature_names")
    if names != list(FEATURE_NAMES):
        raise InputError(f"{path}: model was trained on other features than this framemark computes; retrain it "
                         "with `framemark detect train`")
    return est


def load_model(path: str | Path | None = None) -> ForensicClassifier:
    """The classifier at ``path`` (default: the shipped model); cached per file and mtime."""
    p = Path(path) if path is not None else DEFAULT_MODEL_PATH
    if not p.is_file():
        if path is None:
            # no install path in the message: the service returns it to API clients
            raise InputError("no default classifier is installed; train one with `framemark detect train`")
        raise InputError(f"{p}: no such model file")
    return _load_cached(str(p.resolve()), p.stat().st_mtime)
