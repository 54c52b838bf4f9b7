"""TeX in markdown to MathML, for reports that need no JavaScript (:mod:`.render` assembles the page).

Finding the math: before nbconvert sees a markdown cell, every math span (``$...$``, ``$$...$$``, a bare
``\\begin{equation}``/``align`` environment; never inside code spans or fenced code, and never at an escaped
``\\$``) is replaced by a placeholder token of letters and digits, so ``_``, ``*`` and ``\\\\`` inside TeX cannot
become emphasis or escapes (:func:`protect_math`). After rendering, :func:`substitute_math` puts the MathML in place
of the tokens (inside a tag, e.g. a heading's ``id``, a token becomes a plain-text slug instead).

Converting: ``latex2mathml`` after the rewrites of :data:`MACROS`; the result is checked (an ``<merror>``, a macro
passed through unknown, a missing argument: :class:`RenderError`, naming the notebook and the TeX) and tidied so
that Chromium's MathML Core spaces it as TeX would.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field


class RenderError(RuntimeError):
    """A notebook could not be rendered; the message names the notebook and, for math, the offending TeX."""


# --- finding math in markdown ---------------------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ENVIRONMENTS = ("equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*")
_SCAN = re.compile(r"\\[\\$`]|`+|\$\$|\$|\\begin\{([a-z]+\*?)\}")


@dataclass
class _Math:
    """The math spans of one notebook, each under its placeholder token."""

    notebook: str
    spans: dict[str, tuple[str, bool]] = field(default_factory=dict)  # token -> (TeX, display)

    def token(self, tex: str, display: bool) -> str:
        token = f"LEBMMATH{len(self.spans):05d}X"
        self.spans[token] = (tex, display)
        return token


def math_spans(markdown: str) -> list[tuple[str, bool]]:
    """Every math span of a markdown text, as (TeX, display), in order (what the report converts)."""
    found = _Math("<markdown>")
    protect_math(markdown, found)
    return list(found.spans.values())


def protect_math(markdown: str, found: _Math) -> str:
    """``markdown`` with each math span replaced by a token registered in ``found``; fenced code kept as is."""
    out, prose, fence = [], [], None
    for line in markdown.splitlines(keepends=True):
        match = _FENCE.match(line)
        if fence is None and match:
            out.append(_protect_prose("".join(prose), found))
            prose, fence = [], match.group(1)
            out.append(line)
        elif fence is not None:
            out.append(line)
            if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                fence = None
        else:
            prose.append(line)
    out.append(_protect_prose("".join(prose), found))
    return "".join(out)


def _protect_prose(text: str, found: _Math) -> str:
    out, pos = [], 0
    while (match := _SCAN.search(text, pos)) is not None:
        out.append(text[pos : match.start()])
        piece, end = _math_at(text, match, found)
        out.append(piece)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _math_at(text: str, match: re.Match, found: _Math) -> tuple[str, int]:
    """What replaces the construct at ``match`` (a token, or the text itself) and where scanning resumes."""
    start, lexeme = match.start(), match.group(0)
    if lexeme.startswith("\\") and len(lexeme) == 2:  # \$ \\ \` : markdown escapes, never math
        return lexeme, match.end()
    if lexeme.startswith("`"):
        close = re.compile(rf"(?<!`){lexeme}(?!`)").search(text, match.end())
        end = close.end() if close else match.end()
        return text[start:end], end
    if lexeme == "$$":
        end = _closing(text, "$$", match.end(), found)
        return found.token(text[match.end() : end], True), end + 2
    if lexeme == "$":
        end = _closing(text, "$", match.end(), found)
        return found.token(text[match.end() : end], False), end + 1
    name = match.group(1)
    if name not in _ENVIRONMENTS:
        return lexeme, match.end()
    end = text.find(f"\\end{{{name}}}", match.end())
    if end < 0:
        raise RenderError(f"{found.notebook}: \\begin{{{name}}} without \\end{{{name}}}: {_excerpt(text, start)}")
    end += len(f"\\end{{{name}}}")
    return found.token(text[start:end], True), end


def _closing(text: str, delimiter: str, begin: int, found: _Math) -> int:
    """Index of the unescaped ``delimiter`` closing the math opened just before ``begin``."""
    # pandoc's rule for a closing single $: not after a space, not before a digit ("$5 and $10" is no math)
    pattern = r"(?<!\\)\$\$" if delimiter == "$$" else r"(?<![\\$\s])\$(?![$\d])"
    close = re.compile(pattern).search(text, begin)
    body = text[begin : close.start()] if close else ""
    if close is None or not body.strip() or "\n\n" in body:
        raise RenderError(
            f"{found.notebook}: unmatched '{delimiter}' in markdown (write \\$ for a literal dollar): "
            f"{_excerpt(text, begin - len(delimiter))}"
        )
    return close.start()


def _excerpt(text: str, at: int) -> str:
    return repr(text[max(0, at - 30) : at + 50])


# --- TeX to MathML --------------------------------------------------------------------------------------------

MACROS = {
    # latex2mathml 3.81 has no ``aligned``; ``split`` is the same right/left alternation inside a display.
    r"\begin{aligned}": r"\begin{split}",
    r"\end{aligned}": r"\end{split}",
    # TeX's own definition (latex2mathml has the arrow but not the padding)
    r"\iff": r"\;\Longleftrightarrow\;",
    # log-like operators latex2mathml does not know (it knows \log, \exp, \max, \min, \sup, \det, \tanh, ...)
    r"\arg": r"\operatorname{arg}",
}
"""TeX rewritten before conversion: what latex2mathml lacks or renders poorly. Keep each entry explained."""
_MACRO = re.compile("|".join(re.escape(m) + ("(?![A-Za-z])" if m[-1].isalpha() else "") for m in MACROS))
_TAG = re.compile(r"\\tag\*?\{([^{}]*)\}")
_NS = "{http://www.w3.org/1998/Math/MathML}"


def tex_to_mathml(tex: str, display: bool, notebook: str = "<tex>") -> str:
    """MathML for one expression; a ``\\tag{..}`` becomes a label beside a display. Raises RenderError."""
    from latex2mathml.converter import convert

    tag = _TAG.search(tex)
    body = _MACRO.sub(lambda m: MACROS[m.group(0)], _TAG.sub("", tex).strip())
    try:
        root = ElementTree.fromstring(convert(body, display="block" if display else "inline"))
        _check(root)
    except Exception as error:  # latex2mathml raises many types; all mean "this TeX did not convert"
        raise RenderError(f"{notebook}: cannot convert the LaTeX {tex!r} to MathML ({error})") from None
    mathml = _serialise(_tidy(root))
    if display and tag:
        return f'<span class="lebm-eq">{mathml}<span class="lebm-tag">({html.escape(tag.group(1))})</span></span>'
    return mathml


_ARITY = {"mfrac": 2, "msub": 2, "msup": 2, "mover": 2, "munder": 2, "mroot": 2, "msubsup": 3, "munderover": 3}


def _check(root: ElementTree.Element) -> None:
    """Reject output that would show garbage: ``<merror>``, an unknown macro passed through, a missing argument.

    (An unescaped ``&``, alignment outside an environment, already failed to parse.)"""
    for element in root.iter():
        name = element.tag.removeprefix(_NS)
        if name == "merror":
            raise ValueError("latex2mathml reported an error")
        if "\\" in (element.text or ""):
            raise ValueError(f"unsupported macro {element.text!r}")
        if name == "mspace" and element.get("linebreak"):
            raise ValueError("a line break (\\\\) outside split/align/matrix: browsers do not render it")
        if name in _ARITY and len(element) != _ARITY[name]:
            raise ValueError(f"<{name}> with {len(element)} arguments (a missing {{...}}?)")


def _serialise(root: ElementTree.Element) -> str:
    """Plain ``<math>`` markup for the HTML parser (no ``ns0:`` prefixes)."""
    for element in root.iter():
        element.tag = element.tag.removeprefix(_NS)
    root.attrib.pop("xmlns", None)
    return ElementTree.tostring(root, encoding="unicode")


# --- MathML tidying: what MathML Core in Chromium shows differently from TeX ------------------------------------
#
# latex2mathml's output is right for MathJax and Firefox but leans on MathML 3 features MathML Core dropped
# (mathvariant, named spaces) and tags some symbols as identifiers; these passes make Chromium's rendering
# match TeX's spacing.

_VARIANTS = {  # mathvariant: code points of A, a and 0 in Unicode's mathematical alphanumerics (None: no digits)
    "bold": (0x1D400, 0x1D41A, 0x1D7CE),
    "double-struck": (0x1D538, 0x1D552, 0x1D7D8),
    "script": (0x1D49C, 0x1D4B6, None),
    "fraktur": (0x1D504, 0x1D51E, None),
    "sans-serif": (0x1D5A0, 0x1D5BA, 0x1D7E2),
    "monospace": (0x1D670, 0x1D68A, 0x1D7F6),
}
_HOLES = {  # letters that live in the Letterlike Symbols block instead
    "double-struck": dict(zip("CHNPQRZ", "ℂℍℕℙℚℝℤ", strict=True)),
    "script": dict(zip("BEFHILMRego", "ℬℰℱℋℐℒℳℛℯℊℴ", strict=True)),
    "fraktur": dict(zip("CHIRZ", "ℭℌℑℜℨ", strict=True)),
}
_NOT_IDENTIFIERS = {"~": "∼", "±": "±", "∓": "∓", ":": ":", ";": ";"}  # latex2mathml's <mi> for \sim, \pm, ...
_NOT_OPERATORS = {"∞": None, "∂": None, "∇": "normal", "⊤": None, "′": None}  # its <mo> for ordinary symbols:
# \infty, \partial, \nabla (upright in TeX; Chromium would italicise it), \top and primes take no operator spacing
_NAMED_SPACES = {"negativethinmathspace": "-0.1667em", "thinmathspace": "0.1667em",
                 "mediummathspace": "0.2222em", "thickmathspace": "0.2778em"}
_OPENING, _CLOSING = "([{⟨⌈⌊", ")]}⟩⌉⌋|‖"
_SCRIPTED = ("msub", "msup", "msubsup", "munder", "mover", "munderover")
_THIN = "0.1667em"


def _tidy(root: ElementTree.Element) -> ElementTree.Element:
    parents = {child: parent for parent in root.iter() for child in parent}
    for element in list(root.iter()):
        name, text = element.tag.removeprefix(_NS), element.text or ""
        if name == "mi" and element.get("mathvariant") in _VARIANTS:
            # Chromium implements only mathvariant="normal": \mathbb, \mathcal would show as plain italics
            element.text = "".join(_styled(c, element.attrib.pop("mathvariant")) for c in text)
        elif name == "mi" and (text in _NOT_IDENTIFIERS or _is_arrow(text)):
            element.tag, element.text = _NS + "mo", _NOT_IDENTIFIERS.get(text, text)  # relation/binary spacing
        elif name == "mo" and text in _NOT_OPERATORS and not element.attrib:
            element.tag = _NS + "mi"
            if _NOT_OPERATORS[text]:
                element.set("mathvariant", _NOT_OPERATORS[text])
        elif name == "mspace" and element.get("width") in _NAMED_SPACES:
            element.set("width", _NAMED_SPACES[element.get("width")])  # not in MathML Core
    for element in list(root.iter()):
        name, text = element.tag.removeprefix(_NS), element.text or ""
        if name in ("mi", "mo") and len(text) > 1 and text.isalpha():
            _space_named_operator(element, parents)
            _limits_below(element, parents)
        elif name == "mo" and text in _OPENING + _CLOSING and text not in "|‖":
            element.set("lspace", "0em")  # \big( and \left( too: Chromium would space a sized fence as an operator
            element.set("rspace", "0em")
        elif name == "mo" and element.get("fence") != "true" and text in "/|‖":
            element.set("lspace", "0em")  # ordinary symbols in TeX: q(z'|z), v^2/4, |x|
            element.set("rspace", "0em")
        elif name == "mo" and _in_script(element, parents):
            element.set("lspace", "0em")  # TeX puts no operator spacing in scripts: \phi^*(v), f^\diamond, x_{i+1}
            element.set("rspace", "0em")
        elif name == "mo" and text in "−+±∓" and _is_unary(element, parents):
            element.set("lspace", "0em")
            element.set("rspace", "0em")
    return root


def _is_arrow(text: str) -> bool:
    return len(text) == 1 and (0x2190 <= ord(text) <= 0x21FF or 0x27F0 <= ord(text) <= 0x27FF)


def _styled(char: str, variant: str) -> str:
    upper, lower, digit = _VARIANTS[variant]
    if char in _HOLES.get(variant, {}):
        return _HOLES[variant][char]
    if char.isdigit():
        return chr(digit + int(char)) if digit else char
    if not char.isascii() or not char.isalpha():
        return char
    return chr((upper + ord(char) - 65) if char.isupper() else (lower + ord(char) - 97))


def _siblings(element: ElementTree.Element, parents: dict) -> tuple:
    """The element that carries ``element``'s spacing (itself or the script around it) and its neighbours."""
    while element in parents and parents[element].tag.removeprefix(_NS) in _SCRIPTED and parents[element][0] is element:
        element = parents[element]
    row = list(parents.get(element, []))
    at = row.index(element) if element in row else 0
    before = row[at - 1] if at > 0 else None
    after = row[at + 1] if at + 1 < len(row) else None
    return before, after


def _operator_like(element: ElementTree.Element | None) -> bool:
    """Nothing, an explicit space, or an operator other than a closing fence: no spacing needed on this side."""
    if element is None or element.tag.removeprefix(_NS) == "mspace":
        return True
    return element.tag.removeprefix(_NS) == "mo" and (element.text or "") not in _CLOSING


def _opens(element: ElementTree.Element | None) -> bool:
    while element is not None and element.tag.removeprefix(_NS) == "mrow" and len(element):
        element = element[0]  # \left( ... \right) comes as an mrow
    if element is None or element.tag.removeprefix(_NS) == "mspace":
        return True
    return element.tag.removeprefix(_NS) == "mo" and (element.text or "") in _OPENING


def _space_named_operator(element: ElementTree.Element, parents: dict) -> None:
    """\\log, \\max, \\operatorname{..}: upright, a thin space each side as in TeX, none before a parenthesis."""
    before, after = _siblings(element, parents)
    element.tag = _NS + "mo"
    element.set("lspace", "0em" if _operator_like(before) else _THIN)
    element.set("rspace", "0em" if _opens(after) else _THIN)


def _in_script(element: ElementTree.Element, parents: dict) -> bool:
    while element in parents:
        parent = parents[element]
        if parent.tag.removeprefix(_NS) in _SCRIPTED and parent[0] is not element:
            return True
        element = parent
    return False


_LIMITS = ("sup", "inf", "max", "min", "lim", "liminf", "limsup", "argmax", "argmin")


def _limits_below(element: ElementTree.Element, parents: dict) -> None:
    """``\\sup_f``: limits under the operator in a display, beside it inline (latex2mathml writes a subscript)."""
    parent = parents.get(element)
    if (element.text or "") in _LIMITS and parent is not None and parent[0] is element:
        scripts = {"msub": "munder", "msubsup": "munderover"}
        if parent.tag.removeprefix(_NS) in scripts:
            parent.tag = _NS + scripts[parent.tag.removeprefix(_NS)]
            element.set("movablelimits", "true")


def _is_unary(element: ElementTree.Element, parents: dict) -> bool:
    before, _ = _siblings(element, parents)
    return before is None or (before.tag.removeprefix(_NS) == "mo" and (before.text or "") not in _CLOSING)


def substitute_math(body: str, found: _Math) -> str:
    """Put the MathML in place of the tokens; inside a tag (a heading's id or href) put a plain slug."""
    converted = {token: tex_to_mathml(tex, display, found.notebook) for token, (tex, display) in found.spans.items()}
    slug = {token: re.sub(r"[^A-Za-z0-9]+", "", tex) or "math" for token, (tex, _) in found.spans.items()}
    tokens = re.compile(r"LEBMMATH\d{5}X")
    body = re.sub(r"<[^<>]*>", lambda tag: tokens.sub(lambda m: slug[m.group(0)], tag.group(0)), body)
    return tokens.sub(lambda m: converted[m.group(0)], body)
