"""The solution oracle: one long-lived process answers as a fresh process per submission would.

The oracle is the per-slot process that runs the instructor's solution for the cross-check
(``autograder.crosscheck.oracle``). Its oracle here is the one-shot child, the way every
submission's solution ran before: same cells, same inputs, the same arrays back, in any order and
after any number of earlier requests. Real processes, numpy chapters only (a second or two each).
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.crosscheck import engine, npz
from autograder.crosscheck.oracle import SolutionOracle

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
CHAPTERS = {"01_rnn_forward": "rnn_forward", "02_bptt": "bptt"}


def solution_cells(assignment):
    return engine.solution_cells(nbformat.read(SOLUTIONS / assignment / f"{CHAPTERS[assignment]}.ipynb",
                                               as_version=4))


def one_shot(assignment, cells, seed, folder):
    """What a fresh ``python -I -m autograder.crosscheck`` process returns for these inputs."""
    folder.mkdir(parents=True)
    npz.save(folder / "inputs.npz", engine.make_inputs(assignment, seed))
    (folder / "cells.json").write_text(json.dumps(cells))
    subprocess.run([sys.executable, "-I", "-m", "autograder.crosscheck", assignment, str(folder / "cells.json"),
                    str(folder / "inputs.npz"), str(folder / "results.npz")], check=True, env=engine.child_env())
    return npz.load(folder / "results.npz")


def ask(oracle, assignment, cells, seed, seconds=60):
    answer = oracle.ask(assignment, cells, engine.make_inputs(assignment, seed), engine.child_env())
    return answer.wait(time.monotonic() + seconds, seconds)


def same(a: npz.Arrays, b: npz.Arrays) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("assignment", sorted(CHAPTERS))
def test_the_oracle_answers_as_a_fresh_process_request_after_request(assignment, tmp_path, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    cells = solution_cells(assignment)
    with SolutionOracle() as oracle:
        for seed in (3, 11, 3):  # a later request is not changed by an earlier one
            results, detail = ask(oracle, assignment, cells, seed)
            assert detail == [] and results
            assert same(results.arrays, one_shot(assignment, cells, seed, tmp_path / f"{seed}-{time.monotonic_ns()}"))
        first = oracle.proc.pid
        ask(oracle, assignment, cells, 5)
        assert oracle.proc.pid == first  # one process for them all
        assert [p.name[:14] for p in temp.iterdir()] == ["agr-xc-oracle-"]  # each request's folder is gone
    assert list(temp.iterdir()) == []  # and the oracle's own, once it is stopped


def test_what_the_solution_prints_does_not_reach_the_answers():
    cells = ["print('done')\nprint('garbage', flush=True)", *solution_cells("01_rnn_forward")]
    with SolutionOracle() as oracle:
        for seed in (1, 2):
            results, detail = ask(oracle, "01_rnn_forward", cells, seed)
            assert detail == [] and results.cell_errors() == []


def test_a_dead_oracle_is_started_again_and_other_cells_get_another(tmp_path):
    cells = solution_cells("01_rnn_forward")
    with SolutionOracle() as oracle:
        ask(oracle, "01_rnn_forward", cells, 1)
        first = oracle.proc.pid
        oracle.proc.kill()
        oracle.proc.wait()
        results, detail = ask(oracle, "01_rnn_forward", cells, 1)
        assert detail == [] and oracle.proc.pid != first
        second = oracle.proc.pid
        results, detail = ask(oracle, "01_rnn_forward", [*cells, "x = 1"], 1)
        assert detail == [] and oracle.proc.pid != second
    assert oracle.proc is None  # stopped


def test_a_failing_solution_cell_comes_back_with_every_answer():
    cells = ["raise RuntimeError('broken instructor notebook')", *solution_cells("01_rnn_forward")]
    with SolutionOracle() as oracle:
        for seed in (1, 2):
            results, _ = ask(oracle, "01_rnn_forward", cells, seed)
            assert any("broken instructor notebook" in e for e in results.cell_errors())
            with pytest.raises(RuntimeError, match="instructor notebook of 01_rnn_forward failed"):
                engine.checked_solution("01_rnn_forward", results, [])


def test_an_oracle_past_its_deadline_is_stopped_and_says_so():
    slow = solution_cells("01_rnn_forward") + ["import time\n_f = rnn_step_forward\n"
                                               "def rnn_step_forward(*args):\n    time.sleep(3)\n    return _f(*args)"]
    with SolutionOracle() as oracle:
        results, detail = ask(oracle, "01_rnn_forward", slow, 1, seconds=1)
        assert not results and detail == ["it did not finish in 1 s"]
        assert oracle.proc is None  # stopped; the next request starts a new one
        results, detail = ask(oracle, "01_rnn_forward", solution_cells("01_rnn_forward"), 1)
        assert detail == [] and results
