"""Oracles bound privately: a hidden test reads no notebook global but the names the student writes.

Every hidden test is a function ``_hidden_test_*`` that imports what it uses (numpy, the checking
harness, the gradient oracle, TensorFlow) as its own locals. A student who defines
``numerical_gradient`` (chapter 3's, with another contract), ``checks``, ``np`` or ``tf`` in a
notebook therefore cannot change what a hidden test compares with. This test reads every hidden
block of every instructor notebook and lists the notebook globals each hidden function reads
(``symtable``: implicit globals of the function and of the functions nested in it); the only ones
allowed are builtins and the names the solution cells define (the graded functions and classes).
"""

import ast
import builtins
import symtable

import nbformat
import pytest

from conftest import ROOT
from submissions import marked_lines

NOTEBOOKS = sorted((ROOT / "solutions").glob("*/*.ipynb"))


def _student_names(nb):
    """Names bound at the top level of the solution cells: what the student writes."""
    names = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                    names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _globals_read(table):
    found = set()
    for name in table.get_identifiers():
        sym = table.lookup(name)
        if sym.is_global() and sym.is_referenced():
            found.add(name)
    for child in table.get_children():
        found |= _globals_read(child)
    return found


def hidden_functions(nb):
    """(grade id, function name, notebook globals it reads, top-level statements that are not def/call/del)."""
    out = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        lines = marked_lines(cell.source, kinds=("HIDDEN TESTS",))
        if not lines:
            continue
        source = "\n".join(lines)
        module = ast.parse(source)
        top = symtable.symtable(source, meta["grade_id"], "exec")
        tables = {t.get_name(): t for t in top.get_children()}
        loose = [ast.unparse(node)[:80] for node in module.body
                 if not isinstance(node, (ast.FunctionDef, ast.Delete))
                 and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call))]
        for node in module.body:
            if isinstance(node, ast.FunctionDef):
                out.append((meta["grade_id"], node.name, _globals_read(tables[node.name]), loose))
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_hidden_tests_read_only_the_students_names(path):
    nb = nbformat.read(path, as_version=4)
    allowed = _student_names(nb) | set(dir(builtins))
    functions = hidden_functions(nb)
    assert functions, f"{path.name} has no hidden test functions"
    problems = []
    for grade_id, name, read, loose in functions:
        if not name.startswith("_hidden_test"):
            problems.append(f"{grade_id}: hidden block defines {name}: hidden tests are functions named _hidden_test_*")
        if loose:
            problems.append(f"{grade_id}: statements outside a hidden test function: {loose}")
        shared = sorted(read - allowed - {name})
        if shared:
            problems.append(f"{grade_id}: {name} reads notebook globals {shared}; import them inside the function")
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_shadowable_global():
    """Test of the test: a hidden function that uses the notebook's np is reported."""
    source = "def _hidden_test_x():\n    return np.zeros(3) + f(1)\n_hidden_test_x()\n"
    table = symtable.symtable(source, "x", "exec").get_children()[0]
    assert _globals_read(table) == {"np", "f"}
