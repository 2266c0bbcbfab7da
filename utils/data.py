"""Data sets for the experiments. All offline: generated, or bundled with scikit-learn.

The bundled files are read straight from scikit-learn's ``datasets/data`` folder, the way its
``load_iris`` and ``load_digits`` read them (same numbers), without importing scikit-learn:
its import takes half a second, the files a few milliseconds.
"""
import gzip
import importlib.util
from pathlib import Path

import numpy as np

IRIS_FEATURES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                 "petal width (cm)")


def _bundled(name):
    """The path of a data file scikit-learn ships, or None (then use its loader)."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name
    return path if path.is_file() else None


def iris():
    """Fisher's 150 iris flowers: ``X (150, 4)`` float64 (``IRIS_FEATURES``, in cm) and the
    species ``y (150,)`` in {0, 1, 2} (setosa, versicolor, virginica)."""
    path = _bundled("iris.csv")
    if path is None:
        from sklearn.datasets import load_iris

        data = load_iris()
        return data.data.astype(np.float64), data.target.astype(np.int64)
    table = np.loadtxt(path, delimiter=",", skiprows=1)  # header: 150,4,<species names>
    return table[:, :4].astype(np.float64), table[:, 4].astype(np.int64)


def iris_two_species(features=(0, 1), species=(0, 1)):
    """Two iris species by two measurements (scikit-learn's bundled copy of Fisher's data).

    Defaults: setosa (0) vs versicolor (1) by sepal length and width (cm), which a line can
    separate. Returns ``X (N, 2)``, ``y (N,)`` in {0, 1}, and the feature names.
    """
    data, target = iris()
    keep = np.isin(target, species)
    X = data[keep][:, list(features)].astype(np.float64)
    y = (target[keep] == species[1]).astype(np.float64)
    names = [IRIS_FEATURES[i] for i in features]
    return X, y, names


def digits(test_fraction=0.25, seed=0):
    """The 8x8 handwritten digits bundled with scikit-learn, split into train and test.

    Pixels are scaled to [0, 1]. Returns ``(X_train, y_train, X_test, y_test)`` with
    ``X (N, 64)`` float64 and integer labels ``y (N,)`` in 0..9.
    """
    path = _bundled("digits.csv.gz")
    if path is None:
        from sklearn.datasets import load_digits

        data = load_digits()
        pixels, labels = data.data, data.target
    else:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            table = np.loadtxt(file, delimiter=",")  # 64 pixels (0..16), then the label
        pixels, labels = table[:, :-1], table[:, -1]
    X = pixels.astype(np.float64) / 16.0
    y = labels.astype(np.int64)
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


SHAKESPEARE = Path(__file__).resolve().parent / "datasets" / "tinyshakespeare.txt"


def shakespeare(heldout_fraction=0.1):
    """Shakespeare's dialogue as characters (``utils/datasets/README.md`` says where from).

    Returns ``(train, heldout, vocab)``: the first 90% and the last 10% of the text as integer
    ids ``(n,)`` int64 into ``vocab``, the 65 distinct characters sorted (so ids follow ASCII).
    The split is fixed (the end of the text, not a random sample), as every reported figure
    uses it.
    """
    text = SHAKESPEARE.read_text(encoding="ascii")
    vocab = "".join(sorted(set(text)))
    ids = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    lookup = np.zeros(128, dtype=np.int64)
    lookup[np.frombuffer(vocab.encode("ascii"), dtype=np.uint8)] = np.arange(len(vocab))
    ids = lookup[ids]
    cut = int(len(ids) * (1 - heldout_fraction))
    return ids[:cut], ids[cut:], vocab
