"""The nbgrader preprocessors of the course: they run in the worker, inside nbgrader (see :mod:`.nbconfig`).

``BoundedExecute`` replaces ``Execute`` in ``Autograde.autograde_preprocessors``:

- it keeps at most ``max_output_bytes`` of output per cell (100 MB of printing costs the grader
  nothing and the feedback stays readable) and says where it cut;
- it writes the cell it is about to run to ``progress_file`` (:mod:`.progress`), so that when the
  kernel dies (``os._exit``, a memory bomb, a loop that ignores interrupts, which the sandbox
  stops) the grader knows which cell did it;
- in the sandbox, once a cell is done, the processes it left running are stopped (a fork bomb
  does not eat the memory of the cells after it);
- it does not run the cells listed in ``skip_cells`` and gives them an error output instead, so
  that a second attempt grades every other cell (a skipped test cell scores zero);
- its kernels start and stop without jupyter_client's idle waits (:mod:`.kernels`).

``ShortenTestTracebacks`` runs in ``GenerateFeedback``: feedback shows no hidden test as traceback context.
"""

import json
import os
import signal

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer, List, Unicode

from ..sandbox import ENV_VAR
from . import progress
from .kernels import GradingKernelManager

SKIPPED_ENAME = "CellSkippedByGrader"


def cell_label(cell: NotebookNode, index: int) -> str:
    """How a student's row names a cell: its index, and its grade id or first line."""
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index} ({gid!r})" if gid else f"cell {index} ({first[:60]!r})" if first else f"cell {index}"


class BoundedExecute(Execute):
    def __init__(self, *args, **kwargs) -> None:
        # Execute's own default (jupyter_client's AsyncKernelManager) comes as an argument, over any
        # configuration: ours, without its idle waits (see autograder.grader.kernels), the same way.
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(*args, **kwargs)

    max_output_bytes = Integer(1_000_000, help="Output kept per cell, in bytes (about).").tag(config=True)
    progress_file = Unicode("", help="Where the index of the cell being run is written.").tag(config=True)
    skip_cells = List(Unicode(), help="Cells not to run, as NOTEBOOK:INDEX (they stopped the kernel before)."
                      ).tag(config=True)
    skip_reasons = List(Unicode(), help="Why each cell in skip_cells is skipped, shown in its output.").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        key = self._current_key = f"{resources.get('unique_key', '')}:{index}"
        if self.progress_file and cell.cell_type == "code":
            progress.record_start(self.progress_file, key, cell_label(cell, index))
        self._output_bytes, self._noted = {}, set()
        if cell.cell_type == "code" and key in self.skip_cells:
            i = list(self.skip_cells).index(key)
            why = self.skip_reasons[i] if i < len(self.skip_reasons) else "it stopped the kernel"
            message = f"the grader did not run this cell: {why}"
            cell.outputs = [new_output("error", ename=SKIPPED_ENAME, evalue=message,
                                       traceback=[f"{SKIPPED_ENAME}: {message}"])]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        finally:
            self._end_strays()

    def _end_strays(self) -> None:
        """In the sandbox, ask the kernel's launcher to stop processes the cell left running."""
        if not os.environ.get(ENV_VAR):
            return
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGUSR1)
            except (ProcessLookupError, PermissionError):
                pass

    # nbclient's private hook (nbclient==0.11.0 is pinned for it).
    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None) -> None:
        # Recorded so that the grader can tell which cell hung a kernel that later had to be killed.
        if self.progress_file and cell is not None:
            progress.record_timeout(self.progress_file, self._current_key)
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> NotebookNode | None:
        """Keep the output of a cell up to the cap; errors and stderr always leave a trace.

        Scoring depends on them (an error or any stderr output in a test cell scores zero), so
        they are shortened, never dropped; stdout and rich output past the cap are dropped.
        """
        cap = self.max_output_bytes
        counts = self.__dict__.setdefault("_output_bytes", {})
        used = counts.get(cell_index, 0)
        content = msg.get("content", {})
        kind = msg.get("msg_type")
        size = len(json.dumps(content, default=str))
        counts[cell_index] = used + size
        if used + size <= cap:
            return super().output(outs, msg, display_id, cell_index)
        note = f"[the grader kept only the first {cap // 1000} kB of this cell's output]"
        if kind == "error":
            content["evalue"] = str(content.get("evalue", ""))[:2000]
            content["traceback"] = [str(line)[:2000] for line in content.get("traceback", [])[-20:]]
            return super().output(outs, msg, display_id, cell_index)
        if kind == "stream":
            keep = max(0, cap - used)
            noted = self.__dict__.setdefault("_noted", set())
            if (cell_index, content.get("name")) in noted and keep == 0:
                return None
            noted.add((cell_index, content.get("name")))
            content["text"] = str(content.get("text", ""))[:keep] + f"\n{note}\n"
            return super().output(outs, msg, display_id, cell_index)
        return None


class ShortenTestTracebacks(NbGraderPreprocessor):
    """Cut every traceback in a test cell down to its last line (``Type: message``).

    A traceback through a test cell quotes the lines around the failing call, and those can be
    hidden tests. ClearHiddenTests removes the hidden source from the cell; this removes it from
    the error output too. Messages of the course's checks say what is wrong on their own.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
