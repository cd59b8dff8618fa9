"""The published book: executed pages, and no solutions or hidden tests anywhere in it.

`make test` builds the book first with `jupyter-book build -W -n --keep-going`, which fails on
any warning; these tests look at what that build produced.
"""

import html
import re
from html.parser import HTMLParser

import submissions as subs


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def _text(path):
    raw = path.read_text(errors="replace")
    if path.suffix != ".html":
        return raw
    p = _Text()
    p.feed(raw)
    return "".join(p.parts)


def _site_files(built_book):
    return [p for p in built_book.rglob("*") if p.is_file()
            and p.suffix in {".html", ".txt", ".ipynb", ".js", ".json", ".md", ".py"}]


def test_pages_exist(built_book):
    for page in ["book/intro.html", "book/notation.html", "book/01_rnn_forward.html",
                 "exercises/01_rnn_forward/rnn_forward.html", "book/instructors.html"]:
        assert (built_book / page).is_file(), page


def test_chapter_page_is_executed(built_book):
    page = (built_book / "book" / "01_rnn_forward.html").read_text()
    outputs = re.findall(r'<div class="cell_output docutils container">(.*?)</div>\s*</div>\s*</div>', page, re.S)
    assert len(outputs) >= 2, "the chapter page shows no executed cell output"
    images = re.findall(r'<img[^>]+src="([^"]+)"', page)
    figures = [src for src in images if "_images/" in src]
    assert figures, "the chapter page has no figure drawn at build time"
    for src in figures:
        path = (built_book / "book" / src).resolve()
        assert path.is_file() and path.stat().st_size > 1000, src


def test_exercise_page_is_the_student_copy(built_book):
    text = html.unescape(_text(built_book / "exercises" / "01_rnn_forward" / "rnn_forward.html"))
    assert "IMPLEMENT-ME" in text and "raise NotImplementedError()" in text


def test_no_solutions_or_hidden_tests_in_the_site(built_book):
    files = _site_files(built_book)
    assert len(files) > 10
    assert not [p for p in built_book.rglob("*") if "solutions" in p.relative_to(built_book).parts]
    secret = subs.secret_lines()
    assert len(secret) > 50
    for path in files:
        text = html.unescape(_text(path))
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, path
        lines = {line.strip() for line in text.splitlines()}
        leaked = [line for line in secret if line in lines or line in text]
        assert not leaked, f"{path.relative_to(built_book)} contains solution/hidden-test lines: {leaked[:3]}"
