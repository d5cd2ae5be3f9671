"""Ranking: a logistic regression over the pipeline's signals, learned from CodiEsp train.

Written with numpy (a dependency of spaCy already) rather than scikit-learn: thirteen features
and a few thousand rows do not need more. The weights live in weights.json next to this file;
`python manage.py assist train` regenerates them.
"""

import json
import math
from pathlib import Path

WEIGHTS_PATH = Path(__file__).with_name("weights.json")

# Used until `assist train` has run: hand-set, in the direction the signals obviously point.
DEFAULT_WEIGHTS = {
    "bias": -2.0,
    "name_words": 1.5,
    "idf": 2.0,
    "title": 0.5,
    "mentions": 0.8,
    "assessment": 0.8,
    "history": -0.5,
    "negated": -2.0,
    "uncertain": -0.5,
    "family": -2.0,
    "historical": -0.3,
    "subsumed": -1.0,
    "vague": -0.3,
    "prior": 1.0,
    "prior3": 0.5,
}

_loaded: dict | None = None


def load_model() -> dict:
    """{"weights": {...}, "priors": {code: 0..1}} from weights.json, or the defaults."""
    global _loaded
    if _loaded is None:
        if WEIGHTS_PATH.exists():
            _loaded = json.loads(WEIGHTS_PATH.read_text())
        else:
            _loaded = {"weights": DEFAULT_WEIGHTS, "priors": {}}
    return _loaded


def reset_model() -> None:
    global _loaded, _lexicon
    _loaded = _lexicon = None


_lexicon = None


def load_lexicon():
    """The words learned from CodiEsp train that weights.json holds (None before training)."""
    global _lexicon
    if _lexicon is None:
        from encounters.assist.lexicon import Lexicon

        _lexicon = Lexicon.from_model(load_model()) or False
    return _lexicon or None


def score(feature_values: dict[str, float], weights: dict[str, float]) -> float:
    z = sum(weights.get(k, 0.0) * v for k, v in feature_values.items())
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def fit(rows: list[dict[str, float]], labels: list[int], *, l2: float, epochs: int = 400):
    """Logistic regression by full-batch gradient descent with L2 (the bias not penalised)."""
    import numpy as np

    names = sorted(rows[0])
    x = np.array([[r[n] for n in names] for r in rows], dtype=float)
    y = np.array(labels, dtype=float)
    w = np.zeros(len(names))
    penalty = np.array([0.0 if n == "bias" else l2 for n in names])
    rate = 0.5
    for _ in range(epochs):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (p - y) / len(y) + penalty * w
        w -= rate * gradient
    return {n: round(float(v), 4) for n, v in zip(names, w, strict=True)}


def priors_from(gold: list[list[str]]) -> dict[str, float]:
    """How often each code (and 3-character category) is coded in the training documents,
    scaled 0..1 on a log scale: a common code is a likelier suggestion."""
    counts: dict[str, int] = {}
    for codes in gold:
        for key in {c for c in codes} | {c[:3] for c in codes}:
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return {}
    top = math.log1p(max(counts.values()))
    return {k: round(math.log1p(v) / top, 3) for k, v in sorted(counts.items()) if v >= 2}
