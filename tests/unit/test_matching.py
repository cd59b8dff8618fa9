"""A notebook that lost its nbgrader metadata: answers matched by the names they define, the notebook rebuilt."""

import copy

import nbformat
import pytest
import submissions as subs
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.grader.matching import (Answer, Match, Names, answer_names, answers, match_answers,
                                        restore_answers, top_level_names)
from autograder.grader.submissions import missing_cell_notes, strip_unknown_grade_ids

pytestmark: list = []  # unit tests: no kernel, no marker

STUB = "# IMPLEMENT-ME\nraise NotImplementedError()"  # grader.nbconfig.CODE_STUB, as ClearSolutions writes it


def _meta(cell, gid, *, solution=False, grade=False, locked=False):
    cell.metadata["nbgrader"] = {"grade_id": gid, "solution": solution, "grade": grade, "locked": locked,
                                 "points": 1 if grade else 0}
    cell["id"] = gid
    return cell


def _assignment(stubbed: bool) -> nbformat.NotebookNode:
    """A small assignment: setup, answer ``f``, its test, answer ``pair`` (two definitions), its test, a last cell."""
    f = "def f(x):\n    return x + 1" if not stubbed else f"def f(x):\n    {STUB.replace(chr(10), chr(10) + '    ')}"
    pair = "def g(x):\n    return 2 * x\n\n\nclass G:\n    pass" if not stubbed else STUB
    return new_notebook(cells=[
        _meta(new_markdown_cell("# Exercise"), "intro", locked=True),
        _meta(new_code_cell("import math"), "setup", locked=True),
        _meta(new_code_cell(f), "f", solution=True),
        _meta(new_code_cell("assert f(1) == 2"), "test_f", grade=True, locked=True),
        _meta(new_code_cell(pair), "pair", solution=True),
        _meta(new_code_cell("assert g(2) == 4 and G"), "test_pair", grade=True, locked=True),
        new_code_cell("print(f(g(1)))"),
    ])


SOLUTION, RELEASED = _assignment(stubbed=False), _assignment(stubbed=True)


def _gids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def _by_gid(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if "nbgrader" in c.metadata}


def test_top_level_names_are_functions_classes_and_assignments_in_order():
    source = ("import numpy as np\nEPS: float = 1e-8\na, (b, c) = 1, (2, 3)\n\n"
              "class Cell:\n    def call(self):\n        inner = 1\n\n"
              "async def fetch():\n    pass\n\ndef softmax(x):\n    def helper():\n        pass\n")
    assert top_level_names(source) == Names(("Cell", "fetch", "softmax"), ("EPS", "a", "b", "c"))
    assert top_level_names("x == 1\ny += 2\nz: int") == Names((), ())


def test_a_cell_that_does_not_parse_is_read_line_by_line():
    source = "%matplotlib inline\n!pip install tqdm\ndef rnn_step_forward(x):\n    return x\nclass LSTMCell:\n" \
             "    def build(self):\n        pass\nscale = 2\nif scale == 2:\n    pass\n"
    with pytest.raises(SyntaxError):
        compile(source, "cell", "exec")
    assert top_level_names(source) == Names(("rnn_step_forward", "LSTMCell"), ("scale",))


def test_an_answer_is_known_by_its_definitions_or_else_its_assignments():
    assert answer_names("### BEGIN SOLUTION\nTOL = 1e-6\ndef check(a):\n    return a\n### END SOLUTION") == ("check",)
    assert answer_names("### BEGIN SOLUTION\nlearning_rate = 0.01\nepochs = 3\n### END SOLUTION") == \
        ("learning_rate", "epochs")
    assert answers(SOLUTION) == [Answer("f", ("f",)), Answer("pair", ("g", "G"))]


def test_the_last_cell_defining_a_name_wins():
    cells = [new_code_cell("def f(x):\n    return 0"), new_code_cell("def f(x):\n    return x + 1"),
             new_code_cell("print(f(1))")]
    assert match_answers(cells, [Answer("f", ("f",))]) == [Match("f", (1,), ("f",), ())]


def test_cells_with_a_grade_id_and_copies_of_the_assignment_are_not_candidates():
    mine = _meta(new_code_cell("def f(x):\n    return 3"), "f", solution=True)
    stub = new_code_cell(RELEASED.cells[2].source + "\n\n")  # the released stub, untouched (blanks differ)
    cells = [new_code_cell("def f(x):\n    return x + 1"), mine, stub, new_markdown_cell("def f(x): pass")]
    ignore = frozenset({"def f(x):\n    # IMPLEMENT-ME\n    raise NotImplementedError()"})
    assert match_answers(cells, [Answer("f", ("f",))], ignore) == [Match("f", (0,), ("f",), ())]


def test_one_cell_holding_two_answers_is_placed_once_and_names_not_found_are_listed():
    cells = [new_code_cell("def f(x):\n    return x + 1\n\ndef g(x):\n    return 2 * x")]
    assert match_answers(cells, [Answer("f", ("f",)), Answer("pair", ("g", "G")), Answer("h", ("h",))]) == [
        Match("f", (0,), ("f",), ()), Match("pair", (), ("g",), ("G",), shared=("f",)), Match("h", (), (), ("h",))]


def test_a_notebook_with_its_answer_cells_is_graded_as_it_is():
    nb = copy.deepcopy(SOLUTION)
    nb.cells = [c for c in nb.cells if c.id != "test_f"]  # a deleted test cell
    assert restore_answers(nb, SOLUTION, RELEASED) is None
    assert missing_cell_notes(nb, set(_by_gid(SOLUTION))) == ["cell 'test_f' was missing and was restored from the "
                                                              "assignment"]


def test_a_deleted_answer_cell_that_nothing_defines_is_graded_as_it_is():
    nb = copy.deepcopy(SOLUTION)
    del nb.cells[2]
    assert restore_answers(nb, SOLUTION, RELEASED) is None


def test_a_notebook_that_lost_all_metadata_is_rebuilt_from_the_released_copy():
    rebuilt = restore_answers(subs.without_metadata(SOLUTION), SOLUTION, RELEASED)
    assert rebuilt.notes == ["nbgrader metadata was missing: 2 answer cells matched by the names they define (f, g, G)"]
    assert _gids(rebuilt.notebook) == _gids(RELEASED)
    assert [c.source for c in rebuilt.notebook.cells] == [c.source for c in SOLUTION.cells]
    assert [c.id for c in rebuilt.notebook.cells] == [c.id for c in RELEASED.cells]


def test_a_fresh_notebook_keeps_the_students_other_cells_in_order():
    fresh = new_notebook(cells=[
        new_markdown_cell("my notes"),
        new_code_cell("import numpy as np"),
        new_code_cell("def helper(x):\n    return x"),
        new_code_cell("def g(x):\n    return 2 * helper(x)\n\nclass G:\n    pass"),
        new_code_cell("print(g(1))"),
        new_code_cell("def f(x):\n    return x + 1"),
        new_code_cell("import math"),  # a copy of the setup cell: dropped
        new_code_cell(""),
        new_code_cell("print('done')"),
    ])
    rebuilt = restore_answers(fresh, SOLUTION, RELEASED)
    cells = rebuilt.notebook.cells
    # Each kept cell runs before every answer written after it (print(g(1)) came before f, so before f's
    # answer cell, which the assignment puts first); the copy of the setup cell and the empty cell are gone.
    assert [(c.id, c.source.splitlines()[0]) for c in cells] == [
        ("intro", "# Exercise"), ("setup", "import math"),
        ("submitted-0", "my notes"), ("submitted-1", "import numpy as np"), ("submitted-2", "def helper(x):"),
        ("submitted-4", "print(g(1))"),
        ("f", "def f(x):"), ("test_f", "assert f(1) == 2"),
        ("pair", "def g(x):"), ("test_pair", "assert g(2) == 4 and G"),
        (RELEASED.cells[-1].id, "print(f(g(1)))"), ("submitted-8", "print('done')"),
    ]
    assert _by_gid(rebuilt.notebook)["f"] == "def f(x):\n    return x + 1"
    assert _by_gid(rebuilt.notebook)["pair"] == "def g(x):\n    return 2 * helper(x)\n\nclass G:\n    pass"
    assert rebuilt.notes == ["nbgrader metadata was missing: 2 answer cells matched by the names they define "
                             "(f, g, G), 5 other cells of the notebook kept"]


def test_cells_that_kept_their_metadata_are_used_as_they_are():
    nb = copy.deepcopy(SOLUTION)
    nb.cells[2].source = "def f(x):\n    return x + 100  # mine"
    nb.cells[4].metadata.pop("nbgrader")  # only the second answer lost its metadata
    nb.cells[3].source = "assert True  # an edited test cell: the released one is graded"
    rebuilt = restore_answers(nb, SOLUTION, RELEASED)
    assert _by_gid(rebuilt.notebook)["f"] == "def f(x):\n    return x + 100  # mine"
    assert _by_gid(rebuilt.notebook)["test_f"] == "assert f(1) == 2"
    assert _by_gid(rebuilt.notebook)["pair"] == SOLUTION.cells[4].source
    assert rebuilt.notes == ["nbgrader metadata was missing: 1 answer cell matched by the names it defines (g, G)"]


def test_an_answer_found_in_an_earlier_answers_cell_says_where():
    fresh = new_notebook(cells=[new_code_cell("def f(x):\n    return x + 1\n\ndef g(x):\n    return 2 * x\n\nG = 1")])
    by_gid = _by_gid(restore_answers(fresh, SOLUTION, RELEASED).notebook)
    assert by_gid["f"] == fresh.cells[0].source
    assert by_gid["pair"] == "# g, G: defined above, in the answer cell 'f'"


def test_nothing_matched_in_a_notebook_without_metadata_is_graded_as_not_answered():
    rebuilt = restore_answers(new_notebook(cells=[new_code_cell("print('hello')")]), SOLUTION, RELEASED)
    assert _by_gid(rebuilt.notebook) == _by_gid(RELEASED)
    assert rebuilt.notes == ["nbgrader metadata was missing and no cell of the notebook defines f, g, G: "
                             "graded as not answered"]
    partial = restore_answers(new_notebook(cells=[new_code_cell("def g(x):\n    return 0")]), SOLUTION, RELEASED)
    assert partial.notes == ["nbgrader metadata was missing: 1 answer cell matched by the names it defines (g)",
                             "no cell of the notebook defines f, G: graded as not answered"]


def test_a_released_copy_without_cell_ids_gets_none():
    released = copy.deepcopy(RELEASED)
    released.nbformat_minor = 4
    for cell in released.cells:
        del cell["id"]
    fresh = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("def f(x):\n    return x + 1")])
    cells = restore_answers(fresh, SOLUTION, released).notebook.cells
    assert all("id" not in c for c in cells)


@pytest.mark.parametrize("assignment,notebook", [("03_gradient_check", "gradient_check"),
                                                 ("01_rnn_forward", "rnn_forward"), ("02_bptt", "bptt")])
def test_a_course_notebook_without_metadata_is_rebuilt_into_the_correct_submission(assignment, notebook):
    correct = subs.correct_submission(assignment, notebook)
    solution, released = subs.load(assignment, notebook, "solutions"), subs.load(assignment, notebook, "exercises")
    stripped = subs.without_metadata(correct)
    assert strip_unknown_grade_ids(stripped, set(_by_gid(solution)), note_missing=False) == []
    rebuilt = restore_answers(stripped, solution, released)
    assert [(c.id, c.source) for c in rebuilt.notebook.cells] == [(c.id, c.source) for c in correct.cells]
    names = [n for a in answers(solution) for n in a.names]
    assert rebuilt.notes == [f"nbgrader metadata was missing: {len(answers(solution))} answer cells matched by the "
                             f"names they define ({', '.join(names)})"]
