"""What every grading process starts with: one BLAS thread, and a kernel without the debugger."""

import subprocess
import sys

from autograder.crosscheck.engine import child_env
from autograder.grader.processes import tool_env
from autograder.sandbox.__main__ import KERNEL_MAIN


def test_kernels_and_cross_check_children_get_one_blas_thread(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert tool_env()["OPENBLAS_NUM_THREADS"] == "1"  # nbgrader's worker; its kernels inherit it
    assert child_env()["OPENBLAS_NUM_THREADS"] == "1"


def test_an_instructors_own_blas_setting_is_kept(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    assert tool_env()["OPENBLAS_NUM_THREADS"] == child_env()["OPENBLAS_NUM_THREADS"] == "4"


def test_the_sandboxed_kernel_starts_without_importing_the_debugger():
    # KERNEL_MAIN up to the kernel's start, then what ipykernel decided about its debugger
    preamble = KERNEL_MAIN.replace("kernelapp.launch_new_instance()\n", "")
    assert preamble != KERNEL_MAIN
    report = "from ipykernel import debugger\nprint(debugger._is_debugpy_available, 'debugpy.server' in sys.modules)\n"
    probe = preamble + report
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    # the control: without the preamble, ipykernel does import it (so the line above can fail)
    control = "import sys\n" + report
    out = subprocess.run([sys.executable, "-c", control], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]
