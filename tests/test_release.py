"""One source per exercise: exercises/ is exactly what nbgrader generates from solutions/."""

import os
import shutil
import subprocess

import nbformat
import pytest

from autograder.grader import assignment_names, release
from autograder.grader.nbconfig import CODE_STUB
from conftest import ROOT

pytestmark = [pytest.mark.slow]


def _committed(path):
    """A file as staged/committed in git (the index), or None when git does not know it."""
    proc = subprocess.run(["git", "show", f":{path}"], cwd=ROOT, capture_output=True)
    return proc.stdout if proc.returncode == 0 else None


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """Regenerate every assignment in a scratch copy of the course (the checkout is not touched)."""
    tmp = tmp_path_factory.mktemp("release")
    for name in ("_config.yml", "nbgrader_config.py"):
        shutil.copy(ROOT / name, tmp / name)
    shutil.copytree(ROOT / "solutions", tmp / "solutions")
    os.symlink(ROOT / "autograder", tmp / "autograder")
    names = release(root=tmp, log=lambda *_: None)
    assert names == assignment_names(ROOT)
    return tmp


def test_exercises_equal_committed(regenerated):
    if subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout: nothing committed to compare with")
    generated = sorted(p.relative_to(regenerated).as_posix() for p in (regenerated / "exercises").rglob("*") if p.is_file())
    tracked = subprocess.run(["git", "ls-files", "exercises"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert generated == sorted(tracked), "run `python -m autograder release` and commit exercises/"
    for rel in generated:
        assert (regenerated / rel).read_bytes() == _committed(rel), (
            f"{rel} differs from what nbgrader generates from solutions/: run `python -m autograder release` "
            "and commit exercises/ (never edit it by hand)")


def test_student_copy_has_stubs_and_no_secrets(regenerated):
    for source in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        released = nbformat.read(regenerated / "exercises" / source.parent.name / source.name, as_version=4)
        src = nbformat.read(source, as_version=4)
        assert [c.id for c in released.cells] == [c.id for c in src.cells]
        for s, r in zip(src.cells, released.cells):
            meta = s.metadata.get("nbgrader", {})
            if meta.get("solution") and s.cell_type == "code":
                assert all(line in r.source for line in CODE_STUB.splitlines()), s.id
            assert "BEGIN SOLUTION" not in r.source and "HIDDEN TESTS" not in r.source, s.id
            if meta.get("grade"):
                assert r.source.strip(), f"test cell {s.id} is empty in the student copy: keep a visible line in it"
        assert released.metadata.kernelspec.language == "python"


def test_release_cli_rejects_unknown_assignment():
    from conftest import run_cli

    proc = run_cli("release", "no_such_assignment")
    assert proc.returncode == 2 and "no assignment 'no_such_assignment'" in proc.stderr


def test_nbgrader_config_loads():
    """nbgrader ignores a config file that raises: make sure ours loads and sets the stub."""
    from traitlets.config import Config

    c = Config()
    exec(compile((ROOT / "nbgrader_config.py").read_text(), "nbgrader_config.py", "exec"),
         {"get_config": lambda: c, "__file__": str(ROOT / "nbgrader_config.py")})
    assert c.ClearSolutions.code_stub == {"python": CODE_STUB}
    assert c.CourseDirectory.source_directory == "solutions"
    assert c.CourseDirectory.release_directory == "exercises"
    assert c.OverwriteCells.add_missing_cells is True


@pytest.mark.parametrize("source", sorted((ROOT / "solutions").glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_no_hidden_test_or_solution_line_in_the_student_copy(source):
    """Every line between nbgrader's markers that the notebook does not also show outside them
    (a function's signature, a visible check) is absent from the student copy."""
    import submissions as subs

    cells = [c.source for c in nbformat.read(source, as_version=4).cells]
    marked = {line.strip() for src in cells for line in subs.marked_lines(src)}
    outside = {line.strip() for src in cells for line in subs.unmarked_lines(src)}
    secret = {line for line in marked - outside if len(line) >= 16}
    assert secret, f"{source}: no hidden line to look for"
    released = ROOT / "exercises" / source.parent.name / source.name
    leaked = sorted(secret & subs.notebook_lines(released))
    assert not leaked, f"{released.relative_to(ROOT)} shows solution or hidden-test lines: {leaked[:3]}"
