"""The instructor's grading tool: ``python -m autograder grade`` and ``release``. Never imported by a notebook.

How a grading run flows (one module per step):

- :mod:`.assignment`: the instructor's notebooks (test cells, points) and ``release``;
- :mod:`.intake`: the students in a folder or a platform's download (layout detected), bounded and safe;
- :mod:`.submissions`: a student's record, hash, the notebook graded and its grade-id cleanup;
- :mod:`.matching`: a notebook that lost its nbgrader metadata, rebuilt by the names its answers define;
- :mod:`.workspace`: the output folder: lock, prepared nbgrader course, generated config, saved results;
- :mod:`.isolation`: the sandbox for student code (probe, kernelspec, cgroups, one uid per slot);
- :mod:`.run`: ``grade()``: which students to grade, a pool of long-lived workers, the reports;
- :mod:`.student`: one student: their notebook in a private course copy, the autograde, the cross-check;
- :mod:`.attempts`: the autograde loop (kernel-start retries, cells that kill the kernel skipped);
- :mod:`.worker`: the long-lived nbgrader process (``python -m autograder.grader.worker --serve``);
- :mod:`.preprocessors`, :mod:`.progress`, :mod:`.nbconfig`, :mod:`.kernels`, :mod:`.exporters`: what runs
  inside that nbgrader process (the execution, its kernels without idle waits, the feedback's templates);
- :mod:`.results`, :mod:`.messages`, :mod:`.feedback`: rows, ``grades.csv``, ``summary.md``, why each part
  lost points, feedback pages;
- :mod:`.handback`: the grades written into a Canvas gradebook export or a Moodle grading worksheet;
- :mod:`.processes`: how every helper process is started and stopped.

The names below load on first use, so that importing :mod:`.processes` (the sandbox launcher does,
on every kernel start) or :mod:`.nbconfig` (nbgrader does) costs nothing more.
"""

from .. import lazy_attributes

_LAZY = {"grade": "run", "release": "assignment", "assignment_names": "assignment", "load_assignment": "assignment"}

__all__ = sorted(_LAZY)

__getattr__ = lazy_attributes(__name__, _LAZY)
