"""Data sets for the experiments. All offline: generated, or bundled with scikit-learn."""
import numpy as np


def iris_two_species(features=(0, 1), species=(0, 1)):
    """Two iris species by two measurements (scikit-learn's bundled copy of Fisher's data).

    Defaults: setosa (0) vs versicolor (1) by sepal length and width (cm), which a line can
    separate. Returns ``X (N, 2)``, ``y (N,)`` in {0, 1}, and the feature names.
    """
    from sklearn.datasets import load_iris  # heavy: import on first use only

    iris = load_iris()
    keep = np.isin(iris.target, species)
    X = iris.data[keep][:, list(features)].astype(np.float64)
    y = (iris.target[keep] == species[1]).astype(np.float64)
    names = [iris.feature_names[i] for i in features]
    return X, y, names


def digits(test_fraction=0.25, seed=0):
    """The 8x8 handwritten digits bundled with scikit-learn, split into train and test.

    Pixels are scaled to [0, 1]. Returns ``(X_train, y_train, X_test, y_test)`` with
    ``X (N, 64)`` float64 and integer labels ``y (N,)`` in 0..9.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    X = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def xor(n=200, noise=0.15, seed=0):
    """Points around the four corners of a square, labelled by XOR of their quadrant signs.

    No line separates the classes; one hidden layer suffices. Returns ``X (n, 2)``, ``y (n,)``.
    """
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    X = (2.0 * corners - 1.0) + noise * rng.standard_normal((n, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.float64)
    return X, y


def moons(n=200, noise=0.1, seed=0):
    """Two interleaving half circles (like scikit-learn's make_moons), ``X (n, 2)``, ``y (n,)``."""
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0 = rng.uniform(0, np.pi, n0)
    t1 = rng.uniform(0, np.pi, n - n0)
    X = np.vstack([np.column_stack([np.cos(t0), np.sin(t0)]),
                   np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])])
    X += noise * rng.standard_normal(X.shape)
    y = np.r_[np.zeros(n0), np.ones(n - n0)]
    return X, y
