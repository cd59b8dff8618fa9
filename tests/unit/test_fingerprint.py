"""The grading fingerprint changes with everything that can change a grade (autograder.grader.fingerprint).

``grade`` re-uses a student's saved result only while the fingerprint matches: a changed tolerance
in ``checks.py``, a new module in the package, another nbgrader, numpy or TensorFlow version, a
changed assignment or grading setting must each make every saved result stale.
"""

import shutil

import pytest

from autograder.grader import fingerprint as fp

DISTS = ["nbgrader==0.9.6", "numpy==2.4.0", "tensorflow==2.21.0"]


@pytest.fixture
def setup(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "nb.ipynb").write_text("{}")
    package = tmp_path / "package"
    shutil.copytree(fp.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\n")
    return source, package, config


def _fp(setup, settings="timeout=30 db=sqlite", dists=DISTS):
    source, package, config = setup
    return fp.fingerprint(source, settings, package=package, course_config=config, distributions=dists)


def test_the_same_setup_gives_the_same_fingerprint(setup):
    assert _fp(setup) == _fp(setup)


@pytest.mark.parametrize("change", ["tolerance in checks.py", "new module", "assignment file", "nbgrader config",
                                    "settings", "numpy version", "new distribution"])
def test_each_input_changes_it(setup, change):
    source, package, config = setup
    before = _fp(setup)
    settings, dists = "timeout=30 db=sqlite", list(DISTS)
    if change == "tolerance in checks.py":
        text = (package / "checks.py").read_text()
        assert "DEFAULT_RTOL = 1e-7" in text
        (package / "checks.py").write_text(text.replace("DEFAULT_RTOL = 1e-7", "DEFAULT_RTOL = 1e-6"))
    elif change == "new module":
        (package / "extra.py").write_text("X = 1\n")
    elif change == "assignment file":
        (source / "data.npz").write_bytes(b"\0")
    elif change == "nbgrader config":
        config.write_text("c = get_config()\nc.Execute.timeout = 5\n")
    elif change == "settings":
        settings = "timeout=31 db=sqlite"
    elif change == "numpy version":
        dists[1] = "numpy==2.4.1"
    else:
        dists.append("keras==3.15.0")
    assert _fp(setup, settings, dists) != before


def test_the_real_environment_lists_the_grading_stack():
    names = {line.split("==")[0] for line in fp.installed_distributions()}
    assert {"nbgrader", "numpy", "tensorflow", "keras", "ipykernel"} <= names
