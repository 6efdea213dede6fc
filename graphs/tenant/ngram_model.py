"""The shape of the router's learned models (the intent classifier in router.py, the emergency second opinion in
emergency_model.py): character and word n-grams over accent-folded text, then a class-balanced logistic
regression. Character n-grams tolerate typos, missing accents and regional spellings with no model download."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphs.tenant.emergency import normalize


class NgramModel:
    def __init__(self, texts: Sequence[str], labels: Sequence[Any], *, max_iter: int):
        # scikit-learn is heavy to import; only building a model needs it
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        features = FeatureUnion([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), preprocessor=normalize,
                                      sublinear_tf=True, min_df=1)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), preprocessor=normalize,
                                      token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)),
        ])
        self.pipeline = Pipeline([("features", features),
                                  ("clf", LogisticRegression(C=8.0, max_iter=max_iter, class_weight="balanced"))])
        self.pipeline.fit(list(texts), list(labels))
        self.labels = list(self.pipeline.classes_)

    def probabilities(self, text: str) -> list[float]:
        """One probability per label (in `labels` order)."""
        import sklearn

        # Every turn asks: skip scikit-learn's per-call checks of parameters and finiteness (our own fitted
        # pipeline on one string cannot fail them); a fifth of the call, same probabilities.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            return [float(p) for p in self.pipeline.predict_proba([text])[0]]
