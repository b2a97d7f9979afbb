"""kilnc --fusion-report=report.html / .svg: the kernel graph as a picture,
checked in a real headless browser (Debian's chromium, driven by selenium
through Debian's chromium-driver): no console errors, every kernel drawn
and visible, times from a profile trace shown."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import EXAMPLES, ROOT

BUILD = os.environ.get("KILN_BUILD", os.path.join(ROOT, "build"))
KILNC = os.path.join(BUILD, "bin", "kilnc")
KILN_RUN = os.path.join(BUILD, "bin", "kiln-run")
TINY_CNN = os.path.join(EXAMPLES, "tiny_cnn.onnxtxt")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _kilnc(*args):
    return subprocess.run([KILNC, *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("Debian's chromium and chromium-driver are not installed "
                    "(scripts/setup.sh test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _open(browser, path):
    browser.get("file://" + os.path.abspath(path))
    # Everything the page logged: console messages and rendering errors
    # (an SVG attribute the browser cannot parse is a SEVERE entry).
    logs = browser.get_log("browser")
    assert [e for e in logs if e["level"] in ("SEVERE", "WARNING")] == [], logs
    return browser


def _kernels(report_path):
    return json.loads(open(report_path).read())["kernels"]


def _block_model(path):
    sys.path.insert(0, os.path.dirname(__file__))
    from test_profile import _mlp_with_attention_model
    path.write_bytes(_mlp_with_attention_model(np.random.default_rng(0)).SerializeToString())
    return path


@pytest.mark.parametrize("model", ["tiny_cnn", "block"])
def test_html_report_renders_every_kernel(browser, tmp_path, model):
    from selenium.webdriver.common.by import By
    source = TINY_CNN if model == "tiny_cnn" else _block_model(tmp_path / "block.onnx")
    report = tmp_path / "report.json"
    page = tmp_path / "report.html"
    p = _kilnc(source, "--emit=kiln", "-o", os.devnull, f"--fusion-report={report}")
    assert p.returncode == 0, p.stderr
    p = _kilnc(source, "--emit=kiln", "-o", os.devnull, f"--fusion-report={page}")
    assert p.returncode == 0, p.stderr
    kernels = _kernels(report)
    _open(browser, page)
    boxes = browser.find_elements(By.CSS_SELECTOR, "svg.kiln-fusion g.kernel")
    assert len(boxes) == len(kernels)
    for box, k in zip(boxes, kernels):
        assert box.get_attribute("data-kernel") == k["name"]
        assert f"kind-{k['kind']}" in box.get_attribute("class")
        rect = box.find_element(By.CSS_SELECTOR, "rect")
        assert rect.size["width"] > 100 and rect.size["height"] > 40
        text = box.text
        assert f"{k['name']} · {k['kind']}" in text, text
    # Graph inputs and outputs, edges, the legend and one table row per kernel.
    assert browser.find_elements(By.CSS_SELECTOR, "g.graph-input")
    assert browser.find_elements(By.CSS_SELECTOR, "g.graph-output")
    assert len(browser.find_elements(By.CSS_SELECTOR, "g.edges path")) >= len(kernels)
    rows = browser.find_elements(By.CSS_SELECTOR, "table.kernels tbody tr")
    assert len(rows) == len(kernels)
    assert "kernels" in browser.title


def test_html_report_with_profile_times(browser, tmp_path):
    from selenium.webdriver.common.by import By
    trace = tmp_path / "trace.json"
    p = subprocess.run([KILN_RUN, TINY_CNN, "--random-inputs", "--profile", str(trace),
                        "--profile-runs", "3"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    page = tmp_path / "profiled.html"
    p = _kilnc(TINY_CNN, "--emit=kiln", "-o", os.devnull, f"--fusion-report={page}",
               f"--profile-trace={trace}")
    assert p.returncode == 0, p.stderr
    _open(browser, page)
    boxes = browser.find_elements(By.CSS_SELECTOR, "svg.kiln-fusion g.kernel")
    assert boxes
    for box in boxes:
        assert " ms · " in box.text, box.text
        assert box.find_elements(By.CSS_SELECTOR, "rect.time-bar")
    assert "ms/run" in browser.find_element(By.CSS_SELECTOR, "table.kernels").text


def test_svg_report(browser, tmp_path):
    from selenium.webdriver.common.by import By
    svg = tmp_path / "report.svg"
    p = _kilnc(TINY_CNN, "--emit=kiln", "-o", os.devnull, f"--fusion-report={svg}")
    assert p.returncode == 0, p.stderr
    assert svg.read_text().startswith("<svg ")
    _open(browser, svg)
    assert len(browser.find_elements(By.CSS_SELECTOR, "g.kernel")) == 6


def test_bad_profile_traces(tmp_path):
    page = tmp_path / "r.html"
    missing = _kilnc(TINY_CNN, "--emit=kiln", "-o", os.devnull, f"--fusion-report={page}",
                     f"--profile-trace={tmp_path / 'none.json'}")
    assert missing.returncode != 0 and "cannot read the profile trace" in missing.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    bad = _kilnc(TINY_CNN, "--emit=kiln", "-o", os.devnull, f"--fusion-report={page}",
                 f"--profile-trace={garbage}")
    assert bad.returncode != 0 and "profile trace" in bad.stderr
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"traceEvents": [
        {"ph": "X", "name": "k99 contraction", "cat": "contraction", "ts": 0, "dur": 5,
         "args": {"kernel": 99}}]}))
    wrong = _kilnc(TINY_CNN, "--emit=kiln", "-o", os.devnull, f"--fusion-report={page}",
                   f"--profile-trace={other}")
    assert wrong.returncode != 0 and "is it a profile of this model" in wrong.stderr
    json_report = _kilnc(TINY_CNN, "--emit=kiln", "-o", os.devnull,
                         f"--fusion-report={tmp_path / 'r.json'}", f"--profile-trace={other}")
    assert json_report.returncode != 0 and ".html or .svg" in json_report.stderr
