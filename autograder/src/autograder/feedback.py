"""Feedback that tells students what went wrong without showing the hidden tests."""

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader import utils


class ShortenTestTracebacks(NbGraderPreprocessor):
    """Cut every traceback in a test cell down to its last line (``Type: message``).

    A traceback through a test cell quotes the lines around the failing call, and those can be
    hidden tests. ClearHiddenTests removes the hidden source from the cell; this removes it from
    the error output too. Messages of the course's checks say what is wrong on their own.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
