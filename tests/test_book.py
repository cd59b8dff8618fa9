"""The published book: executed pages, and no solutions or hidden tests anywhere in it.

`make test` builds the book first with `jupyter-book build -W -n --keep-going`, which fails on
any warning; these tests look at what that build produced.
"""

import re

import pytest

import submissions as subs

pytestmark = [pytest.mark.slow, pytest.mark.book]


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


def _exercise_of(chapter):
    found = [e for e in EXERCISES if e.split("/")[1] == chapter]
    assert len(found) == 1, (chapter, EXERCISES)
    return found[0]


def _section(page, anchor, next_anchor):
    start = page.find(f'id="{anchor}"')
    end = page.find(f'id="{next_anchor}"', start)
    assert start >= 0 and end > start, f"no section {anchor!r} before {next_anchor!r}"
    return page[start:end]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_has_objectives_notation_exercise_and_check_yourself(built_book, chapter):
    page = (built_book / "book" / f"{chapter}.html").read_text()
    assert "Learning objectives" in page
    assert 'href="notation.html' in page, f"{chapter} does not link the notation page"
    exercise = _exercise_of(chapter)
    assert f'href="../{exercise}' in page, f"{chapter} does not link its exercise {exercise}"
    check = _section(page, "check-yourself", "exercise")
    questions = re.findall(r'<div class="(?:dropdown admonition|admonition dropdown)', check)
    cells = re.findall(r'<div class="cell docutils container">', check)
    outputs = re.findall(r'<div class="cell_output docutils container">', check)
    assert len(questions) >= 3, f"{chapter}: {len(questions)} questions with a dropdown answer in Check yourself"
    assert len(cells) >= len(questions) and len(outputs) >= len(questions), \
        f"{chapter}: every answer has a check cell that ran ({len(cells)} cells, {len(outputs)} outputs)"
    assert check.count("assert") >= len(questions), f"{chapter}: the checks assert nothing"
    assert "Traceback" not in check and "Error" not in re.sub(r"<[^>]+>", "", check).replace("errstate", ""), \
        f"{chapter}: a check of Check yourself failed"


def _local_images(html_path):
    text = html_path.read_text(errors="replace")
    for src in re.findall(r'<img[^>]+src="([^"]+)"', text):
        if src.startswith(("http://", "https://", "data:")):
            continue
        yield src, (html_path.parent / src.split("?")[0].split("#")[0]).resolve()


def test_every_image_exists_and_is_not_empty(built_book):
    """The figure check: every image a page references is a real, non-empty picture."""
    pages = [p for p in built_book.rglob("*.html") if "_static" not in p.parts]
    seen = 0
    for page in pages:
        for src, path in _local_images(page):
            seen += 1
            where = f"{page.relative_to(built_book)}: {src}"
            assert path.is_file(), f"{where}: missing"
            data = path.read_bytes()
            assert len(data) > 200, f"{where}: {len(data)} bytes"
            if path.suffix == ".png":
                assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{where}: not a PNG"
            elif path.suffix == ".svg":
                assert b"<svg" in data[:2000], f"{where}: not an SVG"
    figures = len(list((built_book / "_images").glob("*.png")))
    assert seen > 20 and figures >= 12, (seen, figures)
