"""One executed notebook as one self-contained HTML report: figures inline, equations as MathML, no scripts.

The main job publishes these pages, and a reader may open one from a laptop offline or from a CI artefact, so the
page must not fetch anything. nbconvert's lab template loads MathJax and require.js from a CDN; here a small
template (``_TEMPLATE``) empties those blocks, and the TeX in the markdown cells is converted to MathML at render
time with ``latex2mathml``. MathML rather than a bundled MathJax: Chromium, Firefox and Safari render MathML Core
natively, so the report needs no JavaScript and no web fonts, stays one small file that opens anywhere, and every
expression is converted (or the render fails, naming it) when the report is built instead of in the reader's
browser.

How the math survives the markdown parser, and how it is checked: :mod:`.mathml`.

On top of the body: a link back to the index, the run facts (profile, device, date, git revision, wall time,
package versions, the parameters the run resolved) and a table of contents of the h1-h3 headings.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from latentebm.reporting.mathml import RenderError, _Math, protect_math, substitute_math
from latentebm.reporting.records import atomic_write

__all__ = ["RenderError", "render_html_text", "render_report", "run_box", "table_of_contents"]


# --- template: the lab template without any remote script --------------------------------------------------

_TEMPLATE_NAME = "latentebm_report.html.j2"
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_css -%}<style type="text/css">{{ resources.latentebm_css }}</style>{%- endblock html_head_css -%}
{%- block body_header -%}{{ super() }}<!--latentebm:header-->{%- endblock body_header -%}
{% block codecell %}
{%- if 'injected-parameters' in cell.metadata.get('tags', []) -%}
<p class="lebm-label">Parameters injected by the main job (papermill) for this run:</p>
{%- elif 'parameters' in cell.metadata.get('tags', []) -%}
<p class="lebm-label">The notebook's defaults (<code>None</code>: the profile's value); the values this run used
are in the run box at the top.</p>
{%- endif -%}
{{ super() }}
{%- endblock codecell %}
"""

_CSS = """
.lebm-head{margin:0 var(--jp-cell-padding,5px) 0 calc(var(--jp-cell-prompt-width,64px) + var(--jp-cell-padding,5px))}
.lebm-run{font:14px/1.45 system-ui,sans-serif;border:1px solid #ccd;border-radius:6px;background:#f6f7fb;
  padding:.6rem 1rem;margin:1rem 0}
.lebm-run table{border-collapse:collapse;margin:.3rem 0}
.lebm-run td,.lebm-run th{padding:.1rem .8rem .1rem 0;text-align:left;vertical-align:top}
.lebm-run code{font-size:13px}
.lebm-toc{font:14px/1.45 system-ui,sans-serif;margin:0 0 1rem}
.lebm-toc ul{margin:.2rem 0;padding-left:1.2rem;list-style:none}
.lebm-toc-h2{padding-left:1.2rem}.lebm-toc-h3{padding-left:2.4rem}
.lebm-label{font:italic 13px system-ui,sans-serif;color:#555;margin:.8rem 0 0 .5rem}
.lebm-eq{display:flex;align-items:center;margin:.6em 0}
.lebm-eq>math{flex:1 1 auto}
.lebm-tag{flex:none;padding-left:1em}
math{font-family:"STIX Two Math","Cambria Math","Latin Modern Math","DejaVu Math TeX Gyre","Noto Sans Math",math;
  font-size:1.08em}
math[display="block"]{overflow-x:auto;overflow-y:hidden;padding:.15em 0}
"""


# --- run box and table of contents ----------------------------------------------------------------------------

_HIDDEN_PARAMETERS = ("output_dir",)  # a path on the machine that ran it: meaningless to a reader


def run_box(facts: dict | None, index_href: str) -> str:
    """The link back to the index and, with ``facts``, what the run was: where, when, which code and parameters."""
    back = f'<p><a href="{html.escape(index_href)}">&larr; all reports</a></p>'
    if not facts:
        return f'<div class="lebm-run">{back}</div>'
    wall = facts.get("wall_s")
    rows = [
        ("profile", facts.get("profile")),
        ("device", facts.get("device")),
        ("finished", facts.get("finished_at")),
        ("git revision", (facts.get("git_revision") or "")[:10] or None),
        ("wall time", f"{wall:.1f} s" if isinstance(wall, int | float) else wall),
        ("versions", ", ".join(f"{k} {v}" for k, v in (facts.get("versions") or {}).items()) or None),
    ]
    facts_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in rows if v is not None)
    parameters = {k: v for k, v in (facts.get("parameters") or {}).items() if k not in _HIDDEN_PARAMETERS}
    parameter_rows = "".join(f"<tr><th><code>{html.escape(str(k))}</code></th><td>{_cell(v)}</td></tr>"
                             for k, v in parameters.items())
    table = f'<table class="lebm-parameters">{parameter_rows}</table>' if parameter_rows else "<p>(none recorded)</p>"
    return (f'<div class="lebm-run">{back}<table class="lebm-facts">{facts_rows}</table>'
            f"<details open><summary>Parameters this run used</summary>{table}</details></div>")


def _cell(value: object) -> str:
    return f"<code>{html.escape(str(value))}</code>"


_HEADING = re.compile(r'<h([1-3])\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
_ANCHOR = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)


def table_of_contents(body: str) -> str:
    """A ``<nav>`` of the h1-h3 headings (indented by level) linking to the ids nbconvert gave them."""
    items = [
        f'<li class="lebm-toc-h{level}"><a href="#{anchor}">{_ANCHOR.sub("", inner).strip()}</a></li>'
        for level, anchor, inner in _HEADING.findall(body)
    ]
    if not items:
        return ""
    return f'<nav class="lebm-toc" aria-label="Contents"><strong>Contents</strong><ul>{"".join(items)}</ul></nav>'


# --- the report -------------------------------------------------------------------------------------------------


def _exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(
        embed_images=True,
        template_name="lab",
        template_file=_TEMPLATE_NAME,
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
    )


def render_html_text(executed: Path, facts: dict | None = None, index_href: str = "index.html") -> str:
    """The report's HTML as a string (see :func:`render_report`)."""
    import nbformat

    executed = Path(executed)
    found = _Math(executed.name)
    notebook = nbformat.read(executed, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = protect_math(cell.source, found)
    try:
        body, _ = _exporter().from_notebook_node(notebook, resources={"latentebm_css": _CSS,
                                                                         "metadata": {"name": executed.stem}})
    except Exception as error:
        raise RenderError(f"{executed.name}: nbconvert failed: {error}") from error
    body = substitute_math(body, found)
    header = f'<header class="lebm-head">{run_box(facts, index_href)}{table_of_contents(body)}</header>'
    if "<!--latentebm:header-->" not in body:
        raise RenderError(f"{executed.name}: the report template lost its header marker")
    return body.replace("<!--latentebm:header-->", header, 1)


def render_report(executed: Path, target: Path, facts: dict | None = None, index_href: str = "index.html") -> Path:
    """Render an executed notebook to one self-contained HTML file at ``target``, atomically; return ``target``.

    Figures are inline (data URIs), equations MathML, and nothing is loaded from the network. ``facts`` (the run
    record: profile, device, finished_at, git_revision, wall_s, versions, parameters) fills the run box; without
    it the box holds only the link to ``index_href``. On any error ``target`` is left as it was."""
    text = render_html_text(executed, facts, index_href)
    return atomic_write(Path(target), lambda tmp: tmp.write_text(text, encoding="utf-8"))
