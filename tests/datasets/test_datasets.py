"""Tests of bayesgen.datasets: the bundled MNIST test set and the named loaders."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from bayesgen import DataError
from bayesgen.datasets import (
    bundled_mnist_files,
    kaggle_csv_path_error,
    load_dataset,
    load_digits,
    load_kaggle_digits,
    load_mnist,
)
from bayesgen.io import LabelledData, read_labelled

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist()


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_bundled_files_checksums():
    images, labels = bundled_mnist_files()
    assert md5(images) == "9fb629c4189551a2d022fa330f9573f3"
    assert md5(labels) == "ec29112dd5afa0611ce80d1b7f02629c"
    folder = images.parent
    assert (folder / "LICENSE").is_file() and (folder / "README.md").is_file()
    text = (folder / "LICENSE").read_text() + (folder / "README.md").read_text()
    for credit in ("Yann LeCun", "Corinna Cortes", "Burges", "Attribution-Share Alike 3.0"):
        assert credit in text


def test_load_mnist_default(mnist_test):
    data = mnist_test
    assert isinstance(data, LabelledData)
    assert data.X.shape == (10000, 784) and data.X.dtype == np.float64
    assert data.X.min() == 0.0 and data.X.max() == 1.0
    assert data.y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(data.y), MNIST_TEST_COUNTS)
    assert data.image_shape == (28, 28) and data.pixel_scale == 255.0
    assert data.source_format == "idx"
    np.testing.assert_array_equal(np.rint(data.X * 255) / 255.0, data.X)


def test_load_mnist_return_X_y(mnist_test):
    X, y = load_mnist(return_X_y=True)
    np.testing.assert_array_equal(X, mnist_test.X)
    np.testing.assert_array_equal(y, mnist_test.y)


def test_load_mnist_from_directory_and_file(tmp_path, mnist_test):
    images, labels = bundled_mnist_files()
    shutil.copy(images, tmp_path / images.name)
    shutil.copy(labels, tmp_path / labels.name)
    data = load_mnist("test", path=tmp_path)
    np.testing.assert_array_equal(data.y, mnist_test.y)
    data = load_mnist("test", path=tmp_path / images.name)
    np.testing.assert_array_equal(data.X[:5], mnist_test.X[:5])


def test_load_mnist_train_needs_path():
    with pytest.raises(DataError, match="Only the MNIST test split is bundled"):
        load_mnist("train")


def test_load_mnist_train_missing_files(tmp_path):
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte\.gz.*Only the test split is bundled"
    ):
        load_mnist("train", path=tmp_path)
    with pytest.raises(DataError, match="nothing exists there"):
        load_mnist("train", path=tmp_path / "nope")
    with pytest.raises(DataError, match="split must be"):
        load_mnist("validation")


def test_load_mnist_train_real(shared_data):
    data = load_mnist("train", path=shared_data / "mnist")
    assert data.X.shape == (60000, 784)
    assert set(np.unique(data.y)) == set(range(10))


def test_shared_test_split_equals_bundled(shared_data, mnist_test):
    data = read_labelled(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(data.X, mnist_test.X)
    np.testing.assert_array_equal(data.y, mnist_test.y)


def test_load_digits():
    data = load_digits()
    assert data.X.shape == (1797, 64) and data.image_shape == (8, 8)
    assert data.X.min() == 0.0 and data.X.max() == 1.0
    assert data.pixel_scale == 16.0 and data.source_format == "sklearn"
    np.testing.assert_array_equal(np.unique(data.y), np.arange(10))
    X, y = load_digits(return_X_y=True)
    np.testing.assert_array_equal(X, data.X)


def test_load_dataset_by_name(mnist_test):
    assert load_dataset("digits").X.shape == (1797, 64)
    X, _ = load_dataset("MNIST", return_X_y=True)
    assert X.shape == (10000, 784)
    with pytest.raises(DataError, match="Unknown dataset 'cifar'.*mnist, digits"):
        load_dataset("cifar")
    with pytest.raises(DataError, match="unsupported arguments"):
        load_dataset("digits", split="train")


def test_kaggle_missing_file_message(tmp_path):
    err = kaggle_csv_path_error(tmp_path / "data" / "train.csv")
    assert "https://www.kaggle.com/c/digit-recognizer" in str(err)
    with pytest.raises(DataError, match=r"kaggle\.com/c/digit-recognizer.*train\.csv"):
        load_kaggle_digits(tmp_path / "data" / "train.csv")
    with pytest.raises(DataError, match=r"kaggle\.com/c/digit-recognizer"):
        load_dataset("kaggle-digits", path=tmp_path / "train.csv")


def test_load_kaggle_digits_real(shared_data):
    data = load_kaggle_digits(shared_data / "digit-recognizer" / "train_first1537rows.csv")
    assert data.X.shape == (1537, 784) and data.source_format == "kaggle-csv"
    assert data.image_shape == (28, 28)
