"""The grading kernel manager on real kernels: nbclient runs a notebook with it as with jupyter_client's
own (same outputs, errors included), and a stopped kernel's process is gone when the call returns."""

import os

import nbformat
import pytest
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient

from autograder.grader.kernels import GradingKernelClient, GradingKernelManager
from autograder.grader.preprocessors import BoundedExecute

pytestmark = pytest.mark.slow


def notebook():
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os\nx = 6 * 7\nprint('pid', os.getpid())"),
        nbformat.v4.new_code_cell("x"),
        nbformat.v4.new_code_cell("raise ValueError('as a student would')"),
        nbformat.v4.new_code_cell("print(x + 1)"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def outputs(nb):
    """What each cell showed, without the kernel's pid and the traceback's formatting."""
    shown = []
    for cell in nb.cells:
        for out in cell.outputs:
            if out.output_type == "stream":
                shown.append(out.text if "pid" not in out.text else "pid")
            elif out.output_type == "execute_result":
                shown.append(out.data["text/plain"])
            elif out.output_type == "error":
                shown.append(f"{out.ename}: {out.evalue}")
    return shown


def run(manager_class):
    nb = notebook()
    clients = []
    client = NotebookClient(nb, kernel_manager_class=manager_class, allow_errors=True, timeout=60,
                            shutdown_kernel="immediate", on_cell_execute=lambda **kw: clients.append(type(client.kc)))
    client.execute()
    pid = int(nb.cells[0].outputs[0].text.split()[1])
    return outputs(nb), pid, clients


def test_a_notebook_runs_as_with_jupyter_clients_own_manager():
    ours, pid, clients = run(GradingKernelManager)
    theirs, _, stock = run(AsyncKernelManager)
    assert ours == theirs == ["pid", "42", "ValueError: as a student would", "43\n"]
    assert set(clients) == {GradingKernelClient} and GradingKernelClient not in stock
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the kernel was stopped and reaped before execute() returned


def test_autograding_uses_the_grading_manager():
    assert BoundedExecute().kernel_manager_class is GradingKernelManager
