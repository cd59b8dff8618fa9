"""nbgrader's Execute preprocessor, bounded for grading a class.

``BoundedExecute`` replaces ``Execute`` in ``Autograde.autograde_preprocessors``:

- it keeps at most ``max_output_bytes`` of output per cell (100 MB of printing costs the grader
  nothing and the feedback stays readable) and says where it cut;
- it writes the index of the cell it is about to run to ``progress_file``, so that when the
  kernel dies (``os._exit``, a memory bomb, a loop that ignores interrupts, which the sandbox
  stops) the grader knows which cell did it;
- in the sandbox, once a cell is done, the processes it left running are stopped (a fork bomb
  does not eat the memory of the cells after it);
- it does not run the cells listed in ``skip_cells`` and gives them an error output instead, so
  that a second attempt grades every other cell (a skipped test cell scores zero).
"""

import json
import os
import signal

from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode

SKIPPED_ENAME = "CellSkippedByGrader"


class BoundedExecute(Execute):
    max_output_bytes = Integer(1_000_000, help="Output kept per cell, in bytes (about).").tag(config=True)
    progress_file = Unicode("", help="Where the index of the cell being run is written.").tag(config=True)
    skip_cells = List(Unicode(), help="Cells not to run, as NOTEBOOK:INDEX (they stopped the kernel before).").tag(config=True)
    skip_reasons = List(Unicode(), help="Why each cell in skip_cells is skipped, shown in its output.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        key = self._current_key = f"{resources.get('unique_key', '')}:{index}"
        if self.progress_file and cell.cell_type == "code":
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
            label = f"cell {index} ({gid!r})" if gid else f"cell {index} ({first[:60]!r})" if first else f"cell {index}"
            with open(self.progress_file, "a") as f:
                f.write(f"start {key}\t{label}\n")
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

    def _end_strays(self):
        """In the sandbox, ask the kernel's launcher to stop processes the cell left running."""
        if not os.environ.get("AUTOGRADER_SANDBOX"):
            return
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGUSR1)
            except (ProcessLookupError, PermissionError):
                pass

    async def _async_handle_timeout(self, timeout, cell=None):
        # Recorded so that the grader can tell which cell hung a kernel that later had to be killed.
        if self.progress_file and cell is not None:
            with open(self.progress_file, "a") as f:
                f.write(f"timeout {self._current_key}\n")
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
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
