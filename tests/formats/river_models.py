"""The allow-listed River models the codec, the scorer and the adapter are tested with:
``name -> (factory, kind)``, kind ``clf``, ``reg`` or ``none`` (unsupervised)."""

from __future__ import annotations

from river import cluster, compose, linear_model, optim, preprocessing

MODELS = {
    "linreg": (
        lambda: linear_model.LinearRegression(
            optimizer=optim.SGD(optim.schedulers.InverseScaling(0.01)), l2=0.001
        ),
        "reg",
    ),
    "logreg": (lambda: linear_model.LogisticRegression(), "clf"),
    "pa-clf": (lambda: linear_model.PAClassifier(C=0.5, mode=2), "clf"),
    "pa-reg": (lambda: linear_model.PARegressor(eps=0.05), "reg"),
    "scaled-logreg": (
        lambda: preprocessing.StandardScaler() | linear_model.LogisticRegression(),
        "clf",
    ),
    "scaled-linreg": (
        lambda: compose.Pipeline(
            ("scale", preprocessing.StandardScaler()), ("lin", linear_model.LinearRegression())
        ),
        "reg",
    ),
    "kmeans": (lambda: cluster.KMeans(n_clusters=3, halflife=0.3, seed=7), "none"),
}
