"""The data sets read from scikit-learn's bundled files are exactly what its loaders give."""
import numpy as np
import pytest

from utils import data

datasets = pytest.importorskip("sklearn.datasets")


def test_iris_is_load_iris():
    X, y = data.iris()
    reference = datasets.load_iris()
    np.testing.assert_array_equal(X, reference.data)
    np.testing.assert_array_equal(y, reference.target)
    assert list(data.IRIS_FEATURES) == list(reference.feature_names)
    assert X.dtype == np.float64 and y.dtype == np.int64
    X2, y2, names = data.iris_two_species(features=(2, 3), species=(1, 2))
    keep = np.isin(reference.target, (1, 2))
    np.testing.assert_array_equal(X2, reference.data[keep][:, [2, 3]])
    np.testing.assert_array_equal(y2, reference.target[keep] == 2)
    assert names == ["petal length (cm)", "petal width (cm)"]


def test_digits_are_load_digits():
    X_train, y_train, X_test, y_test = data.digits()
    reference = datasets.load_digits()
    order = np.random.default_rng(0).permutation(len(reference.target))
    n_test = int(round(0.25 * len(order)))
    np.testing.assert_array_equal(X_test, reference.data[order[:n_test]] / 16.0)
    np.testing.assert_array_equal(y_train, reference.target[order[n_test:]])
    assert X_train.shape == (1348, 64) and y_test.shape == (449,) and y_test.dtype == np.int64


def test_reading_the_files_does_not_import_sklearn():
    import subprocess
    import sys

    code = ("import sys; from utils import data; data.iris(); data.digits(); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(__import__("conftest").ROOT), check=True)
    assert out.stdout.strip() == "False"
