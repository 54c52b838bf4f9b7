"""A real browser opens a rendered report and the index: equations typeset as MathML, every image decoded.

Headless Chromium loads each page in an iframe of a small harness page, which writes its verdict as JSON into
its own DOM; ``--dump-dom`` prints that DOM. No Python browser driver is needed. Screenshots of both pages go
to ``build/browser/`` for a person to look at (nothing is asserted on pixels).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from latentebm import catalogue, paths
from latentebm.reporting import render

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 60
SHOTS = paths.repository_root() / "build" / "browser"

# Runs in the harness: waits for the framed page and every image, then reports what the browser made of it.
HARNESS = """<!doctype html><html><head><meta charset="utf-8"><title>harness</title></head><body>
<iframe id="page" src="PAGE" style="width:1280px;height:2400px"></iframe><pre id="verdict">pending</pre>
<script>
const frame = document.getElementById("page");
frame.addEventListener("load", async () => {
  const out = document.getElementById("verdict");
  try {
    const doc = frame.contentDocument;
    const images = Array.from(doc.images);
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 64;
    const context = canvas.getContext("2d", {willReadFrequently: true});
    const blank = (img) => {  // drawing forces a full decode; a decoded figure has more than one colour
      context.clearRect(0, 0, 64, 64);
      context.drawImage(img, 0, 0, 64, 64);
      const data = context.getImageData(0, 0, 64, 64).data;
      const colours = new Set();
      for (let i = 0; i < data.length; i += 4) colours.add(data.slice(i, i + 4).join());
      return colours.size < 2;
    };
    const maths = Array.from(doc.getElementsByTagNameNS("http://www.w3.org/1998/Math/MathML", "math"));
    const prose = Array.from(doc.querySelectorAll(".jp-MarkdownCell"));
    const text = prose.length ? prose.map((cell) => cell.innerText).join("\\n") : doc.body.innerText;
    out.textContent = JSON.stringify({
      title: doc.title,
      images: images.length,
      undecoded: images.filter((img) => !(img.complete && img.naturalWidth > 0)).map((img) => img.src.slice(0, 80)),
      blank: images.filter((img) => img.naturalWidth > 0 && blank(img)).map((img) => img.src.slice(0, 80)),
      maths: maths.length,
      not_laid_out: maths.filter((m) => !getComputedStyle(m).display.includes("math")
                                        || m.getBoundingClientRect().width <= 0).length,
      scripts: doc.scripts.length,
      text: text,
    });
  } catch (error) {
    out.textContent = JSON.stringify({error: String(error)});
  }
});
</script></body></html>
"""


def chromium() -> str:
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    pytest.skip("no Chromium on PATH: install Debian's chromium package to run the browser test")


def run_browser(profile: Path, *arguments: str) -> str:
    """Run headless Chromium with a fresh profile; kill its whole process group if it outlives TIMEOUT_S."""
    command = [chromium(), "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
               "--hide-scrollbars", f"--user-data-dir={profile}", *arguments]
    if os.geteuid() == 0:
        command.insert(2, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"Chromium did not finish within {TIMEOUT_S} s: {' '.join(command)}")
    assert process.returncode == 0, f"Chromium failed ({process.returncode}): {stderr[-2000:]}"
    return stdout


def verdict(page: Path, tmp_path: Path) -> dict:
    harness = page.with_name(f"harness-{page.stem}.html")
    harness.write_text(HARNESS.replace("PAGE", page.name), encoding="utf-8")
    dom = run_browser(tmp_path / "profile", "--allow-file-access-from-files", "--virtual-time-budget=15000",
                      "--dump-dom", harness.as_uri())
    match = re.search(r'<pre id="verdict">(.*?)</pre>', dom, re.S)
    assert match, f"no verdict in the harness DOM:\n{dom[:2000]}"
    result = json.loads(html.unescape(match.group(1)))
    assert "error" not in result, result
    return result


def screenshot(page: Path, tmp_path: Path, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    run_browser(tmp_path / "profile", "--window-size=1280,2400", f"--screenshot={SHOTS / name}", page.as_uri())
    assert (SHOTS / name).stat().st_size > 0


def raw_tex(text: str) -> list[str]:
    """Pieces of visible text that look like TeX a browser did not typeset."""
    return re.findall(r"\$\$|\$[^\s$][^$\n]*\$|\\(?:frac|mathbb|mathcal|sum|int|left|right|tfrac)\b", text)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pages")
    facts = {"profile": "ci", "device": "cpu", "wall_s": 41.3, "finished_at": "2026-12-02T05:10:00+00:00",
             "git_revision": "2c52bdf0123456789", "versions": {"python": "3.11.7"},
             "parameters": {"profile": "ci", "seed": 0, "n_seeds": 5, "output_dir": "/abs/build/ci"}}
    report = render.render_report(paths.notebooks_dir() / "01_f_divergence_duals.ipynb",
                                  folder / "01_f_divergence_duals.html", facts)
    return {"report": report, "index": index_page(folder)}


def index_page(folder: Path) -> Path:
    """The index as the main job writes it, with the thumbnails beside it."""
    from latentebm.reporting import index

    target = folder / "index.html"
    text = index.render("ci")
    assert isinstance(text, str), "latentebm.reporting.index.render('ci') should return the page's HTML"
    target.write_text(text, encoding="utf-8")
    thumbs = paths.reports_dir() / "thumbs"
    if thumbs.is_dir():
        shutil.copytree(thumbs, folder / "thumbs")
    return target


def test_report_equations_are_typeset_and_images_decoded(pages, tmp_path):
    result = verdict(pages["report"], tmp_path)
    assert result["maths"] > 20 and result["not_laid_out"] == 0, result["maths"]
    assert not raw_tex(result["text"]), raw_tex(result["text"])[:5]
    assert result["images"] >= 3 and result["undecoded"] == [] and result["blank"] == []
    assert result["scripts"] == 0
    screenshot(pages["report"], tmp_path, "01_f_divergence_duals.png")


def test_index_images_decode_and_no_raw_tex(pages, tmp_path):
    result = verdict(pages["index"], tmp_path)
    thumbnails = len([spec for spec in catalogue.all_specs() if spec.figures])
    assert result["images"] == thumbnails, f"{result['images']} of {thumbnails} thumbnails on the index"
    assert result["undecoded"] == [] and result["blank"] == [], result
    assert result["not_laid_out"] == 0
    assert not raw_tex(result["text"]), raw_tex(result["text"])[:5]
    screenshot(pages["index"], tmp_path, "index.png")
