"""The feedback pages students get: nbgrader's made readable at a glance, or a page that gives the reason.

nbgrader's page (hidden tests removed by ClearHiddenTests, tracebacks cut to their last line by
:class:`.preprocessors.ShortenTestTracebacks`) is rewritten in two places:

- its table of contents, one "Test cell (Score: 0.0 / 2.0)" per test cell, becomes the summary:
  every graded part by name (:attr:`.assignment.TestCell.title`), its points, and where points
  were lost the first line of why (``Result.messages``, :mod:`.messages`);
- MathJax 2 loaded from cdnjs becomes MathJax 3 inlined into the page: a page is sent to a student
  on its own (an LMS attachment, nbgrader's exchange), so it must render its equations with no
  network and no folder next to it. The script is ``tex-svg-full.js`` from the pinned package
  ``django-static-mathjax`` (MathJax 3.2.2, as the book serves it): SVG output needs no font
  files, and with every TeX extension built in nothing is fetched on demand (``tex-svg.js``
  would fetch ``\\color``, ``\\cancel``, ... from a path next to the page). It adds 2.3 MB to a page.
"""

import functools
import html
import re
import shutil
from pathlib import Path

from ..errors import GraderError
from .assignment import Assignment, TestCell
from .processes import run_tool
from .results import Result, Status
from .submissions import Student

MATHJAX_SCRIPT = "tex-svg-full.js"
# MathJax 3's form of the settings nbconvert gives MathJax 2 (its mathjax.html.j2): $...$ and \(...\)
# inline, $$...$$ and \[...\] displayed, \$ for a dollar, AMS equation numbers.
MATHJAX_CONFIG = r"""window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
        processEscapes: true, processEnvironments: true, tags: "ams"},
  svg: {fontCache: "global"}
};"""
# nbgrader 0.9's feedback template (nbconvert's MathJax macro): the CDN script and its MathJax-2 settings.
CDN_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"[^\"]*mathjax[^\"]*\"[^>]*>\s*</script>", re.IGNORECASE)
MATHJAX2_CONFIG = re.compile(r"<script type=\"text/x-mathjax-config\">.*?</script>", re.DOTALL | re.IGNORECASE)
# nbgrader's table of contents: <div id="toc"><ol><li><a href="#ID">Test cell</a> (Score: 0.0 / 2.0)</li>...
TOC = re.compile(r"<div id=\"toc\">\s*<ol>.*?</ol>\s*</div>", re.DOTALL)
BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)

SUMMARY_STYLE = """<style>
#toc li.full .points { color: #1a7f37; }
#toc li.lost .points { color: #c62828; font-weight: bold; }
#toc .why { display: block; color: #444; font-family: monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
</style>"""

FALLBACK_FEEDBACK = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback: {assignment}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
td,th{{padding:.2em .8em;text-align:left;vertical-align:top}}</style></head>
<body><h1>Feedback: {assignment}</h1>
<p><strong>Student:</strong> {student}</p>
<p><strong>Score:</strong> {score:g} / {max_score:g}</p>
<p><strong>Your submission could not be graded automatically.</strong> {reason}</p>
<p>Fix the problem (open the notebook, <em>Kernel &rarr; Restart &amp; Run All</em>, check that every
cell runs), then resubmit or talk to your instructor.</p>
<table><tr><th>part</th><th>points</th><th></th></tr>{rows}</table>
</body></html>
"""


@functools.cache
def mathjax_js() -> str:
    """MathJax 3's self-contained TeX-to-SVG script, from the package ``django-static-mathjax``."""
    try:
        import mathjax
    except ImportError:
        raise GraderError("MathJax is missing, and feedback pages need it to show equations offline: "
                          "`pip install -r requirements.txt` installs it (the package django-static-mathjax)") from None
    path = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5" / MATHJAX_SCRIPT
    try:
        js = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot read MathJax's {MATHJAX_SCRIPT} ({exc}): reinstall django-static-mathjax") from None
    if "</script" in js.lower():  # it would end the inline <script> early
        raise GraderError(f"{path} contains '</script' and cannot be inlined into a feedback page")
    return js


def mathjax_head() -> str:
    """The ``<head>`` scripts that render the page's equations with no network."""
    return f"<script>\n{MATHJAX_CONFIG}\n</script>\n<script id=\"MathJax-script\">{mathjax_js()}</script>\n"


def points(value: float) -> str:
    return f"{value:g}"


def part_cells(t: TestCell, result: Result) -> tuple[str, str, str]:
    """(name, "scored / points", why points were lost or ""), HTML-escaped, for one graded part."""
    score = result.scores.get(t.grade_id, 0.0)
    why = result.messages.get(t.grade_id, "") if score < t.points else ""
    return html.escape(t.title), f"{points(score)} / {points(t.points)}", html.escape(why)


def summary(a: Assignment, nb_name: str, result: Result) -> str:
    """The summary at the top of nbgrader's page: one line per graded part of notebook ``nb_name``."""
    items = []
    for t in a.tests:
        if t.notebook != nb_name:
            continue
        name, pts, why = part_cells(t, result)
        state = "lost" if result.scores.get(t.grade_id, 0.0) < t.points else "full"
        items.append(f'<li class="{state}"><a href="#{html.escape(t.grade_id)}">{name}</a>: '
                     f'<span class="points">{pts}</span>' + (f' <span class="why">{why}</span>' if why else "")
                     + "</li>")
    return '<div id="toc">\n<ol>\n' + "\n".join(items) + "\n</ol>\n</div>"


def readable_page(page: str, a: Assignment, nb_name: str, result: Result) -> str:
    """nbgrader's feedback page with the summary for the list of "Test cell"s, and MathJax inline for the CDN."""
    new_toc = summary(a, nb_name, result)
    page, found = TOC.subn(lambda _: new_toc, page, count=1)
    if not found:  # another nbgrader template: the summary goes first
        page, found = BODY.subn(lambda m: m.group(0) + "\n" + new_toc, page, count=1)
    if not found:
        page = new_toc + page
    page = MATHJAX2_CONFIG.sub("", CDN_SCRIPT.sub("", page))
    head = SUMMARY_STYLE + "\n" + mathjax_head()
    if "</head>" in page:
        return page.replace("</head>", head + "</head>", 1)
    return head + page


def fallback_feedback(path: Path, a: Assignment, result: Result, reason: str) -> None:
    """A feedback page of our own: the score, the reason, and the points of every graded part."""
    rows = "".join("<tr><td>{}</td><td>{}</td><td>{}</td></tr>".format(*part_cells(t, result)) for t in a.tests)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FALLBACK_FEEDBACK.format(assignment=html.escape(a.name), student=html.escape(result.student),
                                             score=result.score, max_score=a.max_score, reason=html.escape(reason),
                                             rows=rows), encoding="utf-8")


def student_feedback(a: Assignment, result: Result, sdir: Path) -> None:
    """Feedback pages of one student in ``sdir/feedback/``: nbgrader's made readable, or a page giving the reason."""
    sid = result.student
    dest_dir = sdir / "feedback"
    dest_dir.mkdir(exist_ok=True)
    graded = result.status == Status.GRADED
    written = [sdir / "feedback" / sid / a.name / f"{nb}.html" for nb in a.notebooks]
    if graded and not all(p.is_file() for p in written):  # the worker could not write them
        run_tool(["generate_feedback", a.name, f"--student={sid}", "--force"], cwd=sdir,
                 log_path=sdir / "logs" / "generate_feedback.log")
    for nb_name, src in zip(a.notebooks, written):
        dest = dest_dir / f"{nb_name}.html"
        if graded and src.is_file():
            page = readable_page(src.read_text(encoding="utf-8", errors="replace"), a, nb_name, result)
            dest.write_text(page, encoding="utf-8")
        else:
            reason = result.reason or "feedback could not be generated"
            if graded:
                reason = f"graded, but nbgrader could not write feedback ({reason})"
            fallback_feedback(dest, a, result, reason)


def collect_feedback(a: Assignment, students: list[Student], work: Path, out: Path) -> None:
    """``out/feedback/<student>/<notebook>.html`` for exactly the students of this input."""
    feedback_out = out / "feedback"
    if feedback_out.exists():
        shutil.rmtree(feedback_out)
    for st in students:
        for nb_name in a.notebooks:
            dest = feedback_out / st.id / f"{nb_name}.html"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / "students" / st.id / "feedback" / f"{nb_name}.html", dest)
