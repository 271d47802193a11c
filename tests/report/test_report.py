"""The HTML report: self-contained, escaped, faithful to evaluate(), and clean in Chromium."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from bayesgen import BayesClassifier, DataError, metrics
from bayesgen.report import build_report, png_bytes, write_report

SEED = 0
N_SAMPLES = 300


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:1200], y[:1200], X[1200:], y[1200:]


@pytest.fixture(scope="module")
def model(digits):
    X_tr, y_tr, _, _ = digits
    return BayesClassifier("gaussian", reg_covar=0.05).fit(X_tr, y_tr)


@pytest.fixture(scope="module")
def evaluation(model, digits):
    X_tr, y_tr, X_te, y_te = digits
    return metrics.evaluate(
        model,
        X_te,
        y_te,
        X_train=X_tr,
        y_train=y_tr,
        n_samples=N_SAMPLES,
        random_state=SEED,
        pixel_scale=16,
    )


@pytest.fixture(scope="module")
def page(model, digits):
    X_tr, y_tr, X_te, y_te = digits
    return build_report(
        model,
        X_te,
        y_te,
        X_train=X_tr,
        y_train=y_tr,
        image_shape=(8, 8),
        pixel_scale=16,
        n_samples=N_SAMPLES,
        random_state=SEED,
        title="Digits <8x8> & friends",
        sources={"model file": "a<b>.bgm"},
    )


class _Doc(HTMLParser):
    """Collects tags with attributes, table cell texts per table and all text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._stack: list[list[list[str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._stack:
            self._stack[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html_text: str) -> _Doc:
    doc = _Doc()
    doc.feed(html_text)
    doc.close()
    return doc


def decode_png(data: bytes) -> np.ndarray:
    """Minimal PNG reader for the encoder's output (8-bit, filter 0): checks every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF, tag
        if tag == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    assert tag == b"IEND" and header is not None
    w, h, depth, colour, _, _, _ = header
    channels = {0: 1, 2: 3, 6: 4}[colour]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + w * channels)
    assert depth == 8 and np.all(raw[:, 0] == 0)
    img = raw[:, 1:].reshape(h, w, channels)
    return img[:, :, 0] if channels == 1 else img


# ------------------------------------------------------------------------------ library


def test_png_encoder_round_trips_grey_rgb_and_rgba():
    rng = np.random.default_rng(0)
    for shape in [(5, 7), (3, 4, 3), (2, 6, 4)]:
        img = rng.integers(0, 256, size=shape, dtype=np.uint8)
        np.testing.assert_array_equal(decode_png(png_bytes(img)), img)
    with pytest.raises(DataError):
        png_bytes(np.zeros((2, 2, 2), dtype=np.uint8))


def test_page_is_self_contained_without_scripts(page):
    assert page.startswith("<!DOCTYPE html>")
    doc = parse(page)
    tags = [t for t, _ in doc.tags]
    assert "script" not in tags and "iframe" not in tags and "object" not in tags
    assert "http://" not in page and "https://" not in page and "url(" not in page
    csp = [a for t, a in doc.tags if t == "meta" and a.get("http-equiv")]
    assert csp and "default-src 'none'" in csp[0]["content"]
    images = [a for t, a in doc.tags if t == "img"]
    # sample grid: one strip per class; sample-vs-mean: samples + mean per class
    assert len(images) == 10 + 2 * 10
    prefix = "data:image/png;base64,"
    for attrs in images:
        assert attrs["src"].startswith(prefix) and attrs["alt"]
        pixels = decode_png(base64.b64decode(attrs["src"][len(prefix) :], validate=True))
        assert pixels.shape[0] >= 8 and pixels.shape[1] >= 8
    for tag, attrs in doc.tags:  # nothing else may point anywhere
        for key in ("src", "href"):
            if key in attrs and tag != "a":
                assert attrs[key].startswith("data:"), (tag, attrs)
            if key in attrs and tag == "a":
                assert attrs[key].startswith("#"), attrs


def test_page_has_every_section_and_escapes_text(page):
    doc = parse(page)
    ids = {a.get("id") for _, a in doc.tags}
    assert {"metrics", "samples", "per-class", "confusion", "notes", "settings"} <= ids
    assert "Digits &lt;8x8&gt; &amp; friends" in page and "Digits <8x8>" not in page
    assert "a&lt;b&gt;.bgm" in page
    text = " ".join(doc.text)
    assert "Frechet distance (pca-50)" in text and "not an FID" in text


def test_metrics_table_equals_evaluate_with_the_same_seed(page, evaluation):
    table = next(t for t in parse(page).tables if t[0][:2] == ["metric", "generated"])
    assert table[0] == ["metric", "generated", "real-vs-real floor", "unit"]
    body = table[1:]
    rows = evaluation.rows()
    assert [r[0] for r in body] == [r[0] for r in rows]

    def fmt(v):
        return "\u2013" if v is None else f"{v:.4g}"

    for cells, (_, gen, floor, unit) in zip(body, rows, strict=True):
        assert cells[1:] == [fmt(gen), fmt(floor), unit]


def test_per_class_table_and_confusion_matrices(page, evaluation, model):
    tables = parse(page).tables
    per_class = next(t for t in tables if t[0][0] == "class" and "prior p(y)" in t[0])
    assert [r[0] for r in per_class[1:]] == [str(c) for c in model.classes_]
    clf = evaluation.classification
    col = per_class[0].index("Bayes classifier accuracy")
    for row, acc in zip(per_class[1:], clf.per_class_accuracy, strict=True):
        assert row[col] == f"{100 * acc:.1f}%"
    fid = per_class[0].index("label fidelity (generated)")
    floor = per_class[0].index("floor: reference on real held-out")
    lf = evaluation.label_fidelity
    for row, a, f in zip(
        per_class[1:], lf.generated.per_class_accuracy, lf.floor.per_class_accuracy, strict=True
    ):
        assert row[fid] == f"{100 * a:.1f}%" and row[floor] == f"{100 * f:.1f}%"
    confusion = [t for t in tables if t[0][0].startswith(("true", "generated as"))]
    assert len(confusion) == 2
    cm = np.array([[int(c) for c in r[1:-1]] for r in confusion[0][1:]])
    np.testing.assert_array_equal(cm, clf.confusion)
    assert [int(r[-1]) for r in confusion[0][1:]] == clf.support.tolist()


def test_same_seed_same_page(page, model, digits, evaluation):
    X_tr, y_tr, X_te, y_te = digits
    again = build_report(
        model,
        X_te,
        y_te,
        image_shape=(8, 8),
        pixel_scale=16,
        random_state=SEED,
        title="Digits <8x8> & friends",
        sources={"model file": "a<b>.bgm"},
        evaluation=evaluation,
    )
    assert again == page


def test_tabular_data_and_hostile_labels_are_escaped():
    rng = np.random.default_rng(1)
    labels = np.array(["<script>alert(1)</script>", 'a&b "q"'])
    y = labels[rng.integers(0, 2, size=300)]
    X = rng.normal(size=(300, 3)) + (y == labels[0])[:, None] * 2.0
    model = BayesClassifier("gaussian", reg_covar=1e-3).fit(X[:200], y[:200])
    page = build_report(model, X[200:], y[200:], n_samples=60, random_state=0, title="<i>t</i>")
    assert "<script" not in page and "<i>t</i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a&amp;b &quot;q&quot;" in page
    doc = parse(page)
    images = [a for t, a in doc.tags if t == "img"]
    assert len(images) == 1  # the real-vs-generated scatter instead of image grids
    assert images[0]["src"].startswith("data:image/png;base64,iVBORw0KGgo")


def test_bad_inputs_raise_data_errors(model, digits):
    _, _, X_te, y_te = digits
    with pytest.raises(DataError, match="63 features.*64"):
        build_report(model, X_te[:, :63], y_te)
    with pytest.raises(DataError, match="image_shape"):
        build_report(model, X_te, y_te, image_shape=(7, 7))


def test_write_report_is_atomic(tmp_path):
    target = tmp_path / "r.html"
    target.write_text("old")
    write_report(target, "<!DOCTYPE html><p>new</p>")
    assert target.read_text() == "<!DOCTYPE html><p>new</p>"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "missing" / "r.html", "x")
    with pytest.raises(TypeError):
        write_report(target, b"bytes")
    assert target.read_text() == "<!DOCTYPE html><p>new</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


# ------------------------------------------------------------------------------ browser

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p),
    None,
)

_PROBE = """JSON.stringify({
  title: document.title,
  images: Array.from(document.images).map(i => ({
    complete: i.complete, width: i.naturalWidth, height: i.naturalHeight, alt: i.alt})),
  tables: document.querySelectorAll('table').length,
  height: document.documentElement.scrollHeight,
  width: document.documentElement.scrollWidth
})"""


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (stdlib only).

    ``--remote-debugging-pipe`` makes Chromium read NUL-terminated JSON commands from file
    descriptor 3 and write replies and events to descriptor 4.
    """

    def __init__(self, profile: Path, timeout: float = 60.0):
        self.timeout = timeout
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        # move the child's ends above 4 so that placing them on 3 and 4 cannot clobber them
        hi_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 5)
        hi_w = fcntl.fcntl(res_w, fcntl.F_DUPFD, 5)
        os.close(cmd_r)
        os.close(res_w)
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--mute-audio",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # a tiny Python trampoline puts the pipe ends on descriptors 3 and 4, then execs
        trampoline = (
            "import os, sys; r, w = int(sys.argv[1]), int(sys.argv[2]); "
            "os.dup2(r, 3); os.dup2(w, 4); os.close(r); os.close(w); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", trampoline, str(hi_r), str(hi_w), CHROMIUM, *args],
            pass_fds=(hi_r, hi_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(hi_r)
        os.close(hi_w)
        self._out = os.fdopen(cmd_w, "wb", buffering=0)
        self._in = os.fdopen(res_r, "rb", buffering=0)
        self._messages: queue.Queue = queue.Queue()
        self.events: list[dict] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            chunk = self._in.read(65536)
            if not chunk:
                self._messages.put(None)
                return
            buf += chunk
            *complete, buf = buf.split(b"\0")
            for raw in complete:
                self._messages.put(json.loads(raw))

    def _next(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("Chromium did not answer in time")
        message = self._messages.get(timeout=left)
        if message is None:
            raise RuntimeError("Chromium closed the DevTools pipe")
        return message

    def call(self, method, params=None, session=None):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._out.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._next(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method):
        deadline = time.monotonic() + self.timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._next(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self):
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


def render(path: Path, profile: Path, screenshot: Path | None = None) -> dict:
    """Load a file in headless Chromium; return the probe, problems and a screenshot."""
    browser = Chromium(profile)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            browser.call(f"{domain}.enable", session=session)
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        browser.call("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        result = browser.call(
            "Runtime.evaluate", {"expression": _PROBE, "returnByValue": True}, session=session
        )
        probe = json.loads(result["result"]["value"])
        if screenshot is not None:
            shot = browser.call(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True},
                session=session,
            )
            screenshot.write_bytes(base64.b64decode(shot["data"]))
    finally:
        browser.close()
    problems = []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            problems.append(("console", " ".join(str(a.get("value")) for a in params["args"])))
        elif method == "Runtime.exceptionThrown":
            problems.append(("exception", params["exceptionDetails"].get("text")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            problems.append(("log", params["entry"].get("text")))
    probe["problems"] = problems
    return probe


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed")


@pytest.mark.browser
@needs_chromium
def test_report_renders_in_chromium_without_errors(page, tmp_path):
    path = tmp_path / "report.html"
    write_report(path, page)
    shot = tmp_path / "report.png"
    probe = render(path, tmp_path / "profile", screenshot=shot)
    assert probe["problems"] == []
    assert probe["title"] == "Digits <8x8> & friends"
    assert len(probe["images"]) == 30
    for img in probe["images"]:
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, img
    assert probe["tables"] >= 5
    assert probe["width"] <= 1200  # nothing forces horizontal scrolling at 1200 px
    pixels = decode_png_any(shot.read_bytes())
    assert pixels.shape[0] == probe["height"] and pixels.shape[1] == 1200
    if os.environ.get("BAYESGEN_SCREENSHOT_DIR"):  # to look at it by eye
        shutil.copy(shot, Path(os.environ["BAYESGEN_SCREENSHOT_DIR"]) / "report.png")


def decode_png_any(data: bytes) -> np.ndarray:
    """Chromium's PNGs use filters; read only the size from IHDR."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    w, h = struct.unpack(">II", data[16:24])
    return np.empty((h, w, 0))


@pytest.mark.browser
@needs_chromium
def test_browser_check_catches_console_errors_and_broken_images(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        "<script>console.error('boom');</script>"
        '<img src="data:image/png;base64,AAAA" alt="broken">'
        '<img src="missing.png" alt="missing"></body></html>'
    )
    probe = render(bad, tmp_path / "profile")
    kinds = {k for k, _ in probe["problems"]}
    assert "console" in kinds and any("boom" in t for _, t in probe["problems"])
    assert "log" in kinds  # the missing file
    assert [img["width"] for img in probe["images"]] == [0, 0]
