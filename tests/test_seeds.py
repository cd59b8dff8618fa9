"""No flaky tolerances: every instructor notebook passes its own tests on 50 fresh seeds (chapter 6: 5).

Hidden tests draw new random inputs at every run. The notebook is executed once, then every test
cell is run 49 more times in the same kernel; each run must end without an error and without a
word on stderr (nbgrader scores a test cell that writes to stderr as zero).
"""

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

pytestmark = [pytest.mark.slow]

RUNS = 50
# Chapter 6 trains a model in a test cell (about 15 s): fewer reruns, and the notebook runs as nbgrader
# runs it (NBGRADER_EXECUTION set), so that its full training run is skipped here; `make book` runs that.
FEWER_RUNS = {"06_mnist_classifier": 5}
GRADING_MODE = {"06_mnist_classifier"}
NOTEBOOKS = sorted((ROOT / "solutions").glob("*/*.ipynb"))


def _problems(cell):
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            out.append(f"{o.get('ename')}: {o.get('evalue')}")
        if o.get("output_type") == "stream" and o.get("name") == "stderr":
            out.append(f"stderr: {o.get('text', '')[:300]}")
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.parent.name for p in NOTEBOOKS])
def test_solution_passes_on_many_seeds(path, monkeypatch):
    runs = FEWER_RUNS.get(path.parent.name, RUNS)
    if path.parent.name in GRADING_MODE:
        monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # the kernel inherits it
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    tests = [(i, c) for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
            assert not _problems(cell), f"{cell.id} on the first run: {_problems(cell)}"
        for run in range(1, runs):
            for index, cell in tests:
                cell.outputs = []
                client.execute_cell(cell, index)
                assert not _problems(cell), f"{cell.id} on run {run + 1}: {_problems(cell)}"
