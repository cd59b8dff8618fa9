"""The output folder: its lock, the generated nbgrader config, and saved results that go stale."""

from pathlib import Path

import pytest
from traitlets.config import Config

from autograder.errors import GraderError
from autograder.grader import workspace
from autograder.grader.workspace import load_result, lock, save_result, write_nbgrader_config


def test_the_lock_refuses_a_second_holder_until_the_first_is_done(tmp_path):
    out = tmp_path / "out"
    with lock(out):
        assert (out / ".grading.lock").read_text().strip().isdigit()
        with pytest.raises(GraderError, match=r"another grading run \(pid \d+\) is writing into"):
            with lock(out):
                pass
    with lock(out):  # released
        pass


def test_the_lock_is_released_when_the_run_fails(tmp_path):
    with pytest.raises(ValueError):
        with lock(tmp_path):
            raise ValueError("boom")
    with lock(tmp_path):
        pass


@pytest.fixture
def saved(tmp_path):
    sdir = tmp_path / "students" / "ada"
    (sdir / "feedback").mkdir(parents=True)
    (sdir / "feedback" / "nb.html").write_text("<html>")
    row = {"student": "ada", "score": 3.0, "t1": 1.0}
    save_result(sdir, "fp1", "digest1", row, ["nb.html"])
    return sdir, row


def test_a_saved_result_comes_back_while_nothing_changed(saved):
    sdir, row = saved
    assert load_result(sdir, "fp1", "digest1") == row
    assert not (sdir / "result.json.tmp").exists()


@pytest.mark.parametrize("fp, digest", [("fp2", "digest1"), ("fp1", "digest2")])
def test_a_stale_result_is_not_used(saved, fp, digest):
    assert load_result(saved[0], fp, digest) is None


def test_a_result_without_its_feedback_or_unreadable_is_not_used(saved):
    sdir, _ = saved
    (sdir / "feedback" / "nb.html").unlink()
    assert load_result(sdir, "fp1", "digest1") is None
    (sdir / "result.json").write_text("{not json")
    assert load_result(sdir, "fp1", "digest1") is None
    assert load_result(sdir / "nobody", "fp1", "digest1") is None


def test_the_generated_config_configures_the_private_course(tmp_path):
    write_nbgrader_config(tmp_path, 7, [("nb:3", "it hung")], {"BoundedExecute.progress_file": "/p.txt"}, None)
    c = Config()
    exec((tmp_path / "nbgrader_config.py").read_text(), {"get_config": lambda: c})  # as nbgrader loads it
    assert c.CourseDirectory.root == str(tmp_path.resolve())
    assert c.CourseDirectory.db_url == f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}"
    assert c.Execute.timeout == 7
    assert (c.BoundedExecute.skip_cells, c.BoundedExecute.skip_reasons) == (["nb:3"], ["it hung"])
    assert c.BoundedExecute.progress_file == "/p.txt"
    assert c.Autograde.autograde_preprocessors[0] == "autograder.grader.preprocessors.BoundedExecute"
    assert "autograder.grader.preprocessors.ShortenTestTracebacks" in c.GenerateFeedback.preprocessors


def test_the_preprocessors_named_in_the_config_exist():
    import importlib

    c = Config()
    from autograder.grader.nbconfig import configure

    configure(c, Path("/course"))
    for dotted in [*c.Autograde.autograde_preprocessors, *c.GenerateFeedback.preprocessors]:
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted


def test_a_bad_gradebook_url_is_refused_before_anything_runs():
    with pytest.raises(GraderError, match="--db-url must be"):
        workspace.check_db_url("mysql://x")
