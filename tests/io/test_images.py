"""Tests of image folders (read and written) and PNG grids."""

from __future__ import annotations

import numpy as np
import pytest
from io_helpers import assert_same, concat, no_temp_files, small_images

from bayesgen import DataError
from bayesgen.io import iter_chunks, read_labelled, write_labelled

# --------------------------------------------------------------------------------------------
# image folders
# --------------------------------------------------------------------------------------------


def test_image_folder_round_trip(tmp_path):
    pytest.importorskip("PIL")
    images, labels = small_images(n=9)
    X = images.reshape(9, -1) / 255.0
    out = write_labelled(tmp_path / "imgs", X, labels, image_shape=(5, 4), pixel_scale=255.0)
    assert sorted(p.name for p in out.iterdir()) == ["0", "1", "2"]
    assert sorted(p.name for p in (out / "1").iterdir()) == ["1.png", "4.png", "7.png"]
    data = read_labelled(out)
    order = np.argsort(labels, kind="stable")  # grouped by class folder, then by index
    assert_same(data, X[order], labels[order])
    assert data.source_format == "image-folder" and data.image_shape == (5, 4)
    assert data.pixel_scale == 255.0
    assert_same(data, *concat(iter_chunks(out, chunk_rows=4)))
    assert no_temp_files(tmp_path)


def test_image_folder_string_labels_and_jpeg(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    for cls in ("cat", "dog"):
        (tmp_path / "f" / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (3, 2), (200, 10, 10)).save(tmp_path / "f" / cls / f"{i}.jpg")
    (tmp_path / "f" / "dog" / "notes.txt").write_text("ignored")
    data = read_labelled(tmp_path / "f")
    assert data.y.tolist() == ["cat", "cat", "dog", "dog"]
    assert data.X.shape == (4, 6) and data.image_shape == (2, 3)


def test_image_folder_errors(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="one sub-folder per class"):
        read_labelled(empty)
    mixed = tmp_path / "mixed"
    (mixed / "a").mkdir(parents=True)
    Image.new("L", (4, 4)).save(mixed / "a" / "0.png")
    Image.new("L", (5, 4)).save(mixed / "a" / "1.png")
    with pytest.raises(DataError, match="share one size"):
        read_labelled(mixed)
    broken = tmp_path / "broken"
    (broken / "a").mkdir(parents=True)
    (broken / "a" / "0.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="Cannot read the image"):
        read_labelled(broken)


# --------------------------------------------------------------------------------------------
# writing images
# --------------------------------------------------------------------------------------------


def test_write_png_grid(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    images, labels = small_images(n=10, h=28, w=28)
    out = write_labelled(
        tmp_path / "grid.png", images.reshape(10, -1) / 255.0, labels, image_shape=(28, 28)
    )
    with Image.open(out) as im:
        assert im.format == "PNG" and im.mode == "L"
        assert im.size[0] >= 4 * 56 and im.size[1] >= 3 * 56
    with pytest.raises(DataError, match="image shape"):
        write_labelled(tmp_path / "g2.png", np.ones((2, 6)), [0, 1])
    assert no_temp_files(tmp_path)


def test_write_image_folder_refuses_non_empty_dir(tmp_path):
    pytest.importorskip("PIL")
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        write_labelled(target, np.ones((2, 4)) / 2, [0, 1], image_shape=(2, 2))
    assert (target / "keep.txt").read_text() == "mine"
    with pytest.raises(DataError, match="folder name"):
        write_labelled(tmp_path / "o2", np.ones((1, 4)), ["../evil"], image_shape=(2, 2))
    empty = tmp_path / "empty_ok"
    empty.mkdir()
    write_labelled(empty, np.ones((2, 4)) / 2, [0, 1], image_shape=(2, 2))
    assert sorted(p.name for p in empty.iterdir()) == ["0", "1"]


def test_atomic_image_folder_failure(tmp_path, monkeypatch):
    pytest.importorskip("PIL.Image")
    import bayesgen.io.images as images

    real_encode = images.png_bytes
    count = []

    def flaky(image):  # the third PNG fails, as a full disk would
        count.append(1)
        if len(count) == 3:
            raise OSError(28, "No space left on device")
        return real_encode(image)

    monkeypatch.setattr(images, "png_bytes", flaky)
    with pytest.raises(OSError):
        write_labelled(tmp_path / "out", np.ones((5, 4)) / 2, [0, 1, 0, 1, 0], image_shape=(2, 2))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OSError):
        count.clear()
        count.extend([1, 1])
        write_labelled(tmp_path / "grid.png", np.ones((5, 4)) / 2, [0] * 5, image_shape=(2, 2))
    assert list(tmp_path.iterdir()) == []
