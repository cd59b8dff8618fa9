"""The published book: executed pages, and no solutions or hidden tests anywhere in it.

`make test` builds the book first with `jupyter-book build -W -n --keep-going`, which fails on
any warning; these tests look at what that build produced.
"""

import re

import pytest

import submissions as subs


def _site_files(built_book):
    return [p for p in built_book.rglob("*") if p.is_file()
            and p.suffix in {".html", ".txt", ".ipynb", ".js", ".json", ".md", ".py"}]


CHAPTERS = sorted(p.stem for p in (subs.ROOT / "book").glob("0*.md"))
EXERCISES = sorted(p.relative_to(subs.ROOT).with_suffix(".html").as_posix()
                   for p in (subs.ROOT / "exercises").glob("*/*.ipynb"))


def test_pages_exist(built_book):
    assert CHAPTERS and EXERCISES
    for page in ["book/intro.html", "book/notation.html", "book/instructors.html",
                 *(f"book/{c}.html" for c in CHAPTERS), *EXERCISES]:
        assert (built_book / page).is_file(), page


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_is_executed(built_book, chapter):
    page = (built_book / "book" / f"{chapter}.html").read_text()
    outputs = re.findall(r'<div class="cell_output docutils container">', page)
    assert len(outputs) >= 2, f"{chapter} shows no executed cell output"
    images = re.findall(r'<img[^>]+src="([^"]+)"', page)
    figures = [src for src in images if "_images/" in src]
    assert figures, f"{chapter} has no figure drawn at build time"
    for src in figures:
        path = (built_book / "book" / src).resolve()
        assert path.is_file() and path.stat().st_size > 1000, src


@pytest.mark.parametrize("exercise", EXERCISES)
def test_exercise_page_is_the_student_copy(built_book, exercise):
    text = subs.visible_text(built_book / exercise)
    assert "IMPLEMENT-ME" in text and "raise NotImplementedError()" in text


def test_no_solutions_or_hidden_tests_in_the_site(built_book):
    files = _site_files(built_book)
    assert len(files) > 10
    assert not [p for p in built_book.rglob("*") if "solutions" in p.relative_to(built_book).parts]
    secret = subs.secret_lines()
    assert len(secret) > 50
    for path in files:
        text = subs.visible_text(path)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, path
        lines = {line.strip() for line in text.splitlines()}
        leaked = [line for line in secret if line in lines or line in text]
        assert not leaked, f"{path.relative_to(built_book)} contains solution/hidden-test lines: {leaked[:3]}"
