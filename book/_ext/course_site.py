"""Two fixes for the published site, so that its pages load with no console error.

1. MathJax is served from the book's own ``_static/mathjax/``, not from a CDN, so the pages
   render their equations with no third-party request (readers behind a firewall, offline copies
   of the site, and the browser test on a machine without internet all see the same thing). The
   files come from the pinned PyPI package ``django-static-mathjax`` (MathJax 3.2.2, Apache-2.0;
   it needs nothing of Django), installed by ``requirements.txt``; ``_config.yml`` points
   ``mathjax_path`` at ``mathjax/tex-mml-chtml.js``.
2. Each script is included once per page. The inline configuration scripts of sphinx-thebe and
   sphinx-togglebutton (extensions Jupyter Book 1 always loads) reached every page twice, once
   registered with filename ``None`` and once with ``""``, so pages declared ``const
   THEBE_JS_URL`` twice: "Identifier 'THEBE_JS_URL' has already been declared".

(``_config.yml`` also sets ``html_context.default_mode``: without it pydata-sphinx-theme logs
"Got invalid theme mode" on every page.)
"""

import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

# The component the pages load, and what it loads on demand (fonts, the menu, accessibility).
PARTS = ("tex-mml-chtml.js", "a11y", "adaptors", "input", "output", "sre", "ui")


def source() -> Path:
    try:
        import mathjax
    except ImportError:
        raise ExtensionError("MathJax is missing: `pip install -r requirements.txt` installs it "
                             "(the package django-static-mathjax)") from None
    es5 = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
    if not (es5 / PARTS[0]).is_file():
        raise ExtensionError(f"MathJax's {PARTS[0]} is not in {es5}: reinstall django-static-mathjax")
    return es5


def _copy(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    es5, dest = source(), Path(app.outdir) / "_static" / "mathjax"
    for part in PARTS:
        src = es5 / part
        if src.is_dir():
            shutil.copytree(src, dest / part, dirs_exist_ok=True)
        else:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / part)


def _unique_scripts(app, pagename, templatename, context, doctree):
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        # The same script, whether added with filename None or "" (both mean: inline body).
        key = (getattr(script, "filename", script) or "", repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def setup(app):
    source()  # fail at the start of a build, not at its end
    app.connect("build-finished", _copy)
    app.connect("html-page-context", _unique_scripts, priority=900)  # after every other extension
    return {"parallel_read_safe": True, "parallel_write_safe": True}
