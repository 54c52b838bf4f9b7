"""The notebook report renderer: one offline HTML file, MathML equations, inline figures, run box and contents.

Input is the committed notebooks, which hold executed outputs; nothing is executed here."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest
from latentebm import paths
from latentebm.reporting import mathml, render

NOTEBOOKS = sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
FACTS = {
    "notebook": "01_f_divergence_duals",
    "profile": "ci",
    "device": "cpu",
    "wall_s": 41.3,
    "finished_at": "2026-12-02T05:10:00+00:00",
    "git_revision": "2c52bdf0123456789abcdef",
    "versions": {"python": "3.11.7", "torch": "2.13.0", "evil": "<script>alert(1)</script>"},
    "parameters": {"profile": "ci", "seed": 0, "device": "cpu", "output_dir": "/abs/build/ci", "n_seeds": 5},
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("reports")
    out = {}
    for name in ("01_f_divergence_duals", "04_gebm_gradient_theorem"):
        target = render.render_report(paths.notebooks_dir() / f"{name}.ipynb", folder / f"{name}.html", FACTS)
        out[name] = target.read_text(encoding="utf-8")
    return out


def prose(text: str) -> str:
    """The visible text outside math, code and styles."""
    for tag in ("math", "code", "pre", "style", "script", "title"):
        text = re.sub(rf"<{tag}\b.*?</{tag}>", " ", text, flags=re.S)
    return re.sub(r"<[^>]+>", " ", text)


def notebook_with(tmp_path: Path, *markdown: str, name: str = "made.ipynb") -> Path:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(m) for m in markdown])
    path = tmp_path / name
    nbformat.write(notebook, path)
    return path


@pytest.mark.parametrize("name", ["01_f_divergence_duals", "04_gebm_gradient_theorem"])
def test_equations_are_mathml_and_no_tex_is_left(reports, name):
    text = reports[name]
    assert text.count("<math") > 20
    visible = prose(text)
    assert "$$" not in visible and "$\\" not in visible
    assert not re.search(r"\$[^\s$][^$]*\$", visible), "an inline $...$ was left unconverted"
    assert "LEBMMATH" not in text, "a math placeholder was left in the page"


@pytest.mark.parametrize("name", ["01_f_divergence_duals", "04_gebm_gradient_theorem"])
def test_nothing_is_loaded_from_the_network(reports, name):
    text = reports[name]
    assert "<script" not in text, "the report needs no JavaScript (MathJax and require.js are left out)"
    external = re.findall(r"<(?:link|img|iframe|source|embed)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", text)
    assert not external
    assert not re.search(r"url\(\s*[\"']?(?:https?:)?//|@import", text)


@pytest.mark.parametrize("name", ["01_f_divergence_duals", "04_gebm_gradient_theorem"])
def test_figures_are_inline_pngs_that_decode(reports, name):
    sources = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", reports[name])
    assert sources
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.partition(",")[2], validate=True).startswith(PNG_SIGNATURE)


def test_contents_link_to_the_headings(reports):
    text = reports["01_f_divergence_duals"]
    nav = re.search(r"<nav\b.*?</nav>", text, re.S).group(0)
    links = re.findall(r'href="#([^"]+)"', nav)
    assert len(links) >= 5
    for anchor in links:
        assert f'id="{anchor}"' in text
    assert text.index("<nav") < text.index("<h1")


def test_run_box_shows_the_resolved_parameters_and_facts(reports):
    text = reports["01_f_divergence_duals"]
    box = re.search(r'<div class="lebm-run">.*?</div>', text, re.S).group(0)
    assert '<a href="index.html">' in box
    assert re.search(r"<code>n_seeds</code></th><td><code>5</code>", box)
    assert "/abs/build/ci" not in text and "output_dir</code>" not in box
    for fact in ("cpu", "2026-12-02T05:10:00+00:00", "2c52bdf012", "41.3 s", "torch 2.13.0"):
        assert fact in box
    assert "2c52bdf0123" not in box
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in box


def test_without_facts_only_the_back_link(tmp_path):
    target = render.render_report(notebook_with(tmp_path, "# Title\n\n$x$"), tmp_path / "r.html",
                                  index_href="../index.html?a=1&b=2")
    box = re.search(r'<div class="lebm-run">.*?</div>', target.read_text(), re.S).group(0)
    assert box == '<div class="lebm-run"><p><a href="../index.html?a=1&amp;b=2">&larr; all reports</a></p></div>'


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_math_span_of_the_committed_notebooks_converts(notebook):
    spans = [span for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "markdown"
             for span in mathml.math_spans(cell.source)]
    for tex, display in spans:
        converted = mathml.tex_to_mathml(tex, display, notebook.name)
        assert converted.count("<math") == 1 and "merror" not in converted


def test_math_is_protected_from_markdown_and_code_is_not_math():
    text = (
        "Costs \\$5 and \\$6, `code $x$ here`, ``a ` $y$ b``, and $a_1*b_2*c_3$ then\n"
        "$$\\sum_{i} w_i \\\\ x_*$$\n"
        "```python\nprice = '$z$'\n```\n"
        "\\begin{equation}E=mc^2\\end{equation}"
    )
    assert mathml.math_spans(text) == [("a_1*b_2*c_3", False), ("\\sum_{i} w_i \\\\ x_*", True),
                                       ("\\begin{equation}E=mc^2\\end{equation}", True)]


def test_markdown_cannot_mangle_math_and_headings_keep_clean_ids(tmp_path):
    target = render.render_report(
        notebook_with(tmp_path, "## KALE $\\ge0$ when $P=Q$", "Say $a_1 * b_2 * c_3$ and $x_*$ or `$no$`."),
        tmp_path / "r.html")
    text = target.read_text()
    assert "<em>" not in text and "$no$" in text
    heading = re.search(r"<h2 [^>]*>", text).group(0)
    assert "<math" not in heading and "LEBMMATH" not in heading
    nav = re.search(r"<nav\b.*?</nav>", text, re.S).group(0)
    assert "<math" in nav


def test_tags_become_labels_and_blackboard_letters_are_unicode():
    converted = mathml.tex_to_mathml(r"\mathbb E_P f \le \mathcal H \tag{K}", True)
    assert 'class="lebm-tag">(K)<' in converted and "\\tag" not in converted
    assert "𝔼" in converted and "ℋ" in converted and "mathvariant=\"double-struck\"" not in converted


@pytest.mark.parametrize("tex", [r"\notamacro x", r"\frac{a}", r"a & b", r"a \\ b"])
def test_bad_expression_raises_naming_it(tex):
    with pytest.raises(render.RenderError, match=re.escape(repr(tex))):
        mathml.tex_to_mathml(tex, False, "x.ipynb")


def test_bad_expression_in_a_notebook_names_the_file_and_keeps_the_old_report(tmp_path):
    bad = notebook_with(tmp_path, "# Fine $x$", "Broken: $\\notamacro{y}$.", name="bad.ipynb")
    target = tmp_path / "out" / "bad.html"
    with pytest.raises(render.RenderError, match=r"bad\.ipynb.*\\\\notamacro"):
        render.render_report(bad, target)
    assert not target.exists()
    target.parent.mkdir(exist_ok=True)
    target.write_text("old report")
    with pytest.raises(render.RenderError):
        render.render_report(bad, target)
    assert target.read_text() == "old report"
    assert [p.name for p in target.parent.iterdir()] == ["bad.html"]


def test_unmatched_dollar_raises(tmp_path):
    with pytest.raises(render.RenderError, match=r"made\.ipynb: unmatched '\$'"):
        render.render_report(notebook_with(tmp_path, "It costs $5 today."), tmp_path / "r.html")


def test_papermill_parameter_cells_are_labelled(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("seed = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("seed = 3", metadata={"tags": ["injected-parameters"]}),
    ])
    nbformat.write(notebook, tmp_path / "p.ipynb")
    text = render.render_report(tmp_path / "p.ipynb", tmp_path / "p.html").read_text()
    assert "The notebook's defaults" in text and "Parameters injected by the main job (papermill)" in text


def test_currency_is_not_math_and_fails_loudly():
    """pandoc's rule: a closing $ is never followed by a digit, so two prices in a paragraph are no formula."""
    with pytest.raises(mathml.RenderError, match="unmatched"):
        mathml.math_spans("It costs $5 and $10 today.")
    assert mathml.math_spans("a $x$ and $y_2$, then 3") == [("x", False), ("y_2", False)]
