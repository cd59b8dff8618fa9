"""Grading a class on a Dask ``distributed`` cluster: ``grade(..., scheduler="tcp://HOST:8786")``.

The coordinator (the instructor's ``grade`` run) keeps everything it keeps locally: the lock, intake,
kept results, ``grades.csv``, ``summary.*``, ``feedback/`` and each student's folder. Only the
grading of the students to grade moves to the workers, which share no filesystem with it:

- :mod:`.protocol`: what one task takes (:class:`.protocol.StudentTask`) and gives back
  (:class:`.protocol.GradedStudent`), as bytes; the one place they are defined;
- :mod:`.identity`: what a worker runs (Python, the package's code, pinned versions) and the
  comparison that names the worker and what differs;
- :mod:`.plugin`: the ``WorkerPlugin`` that carries the assignment and the run's settings to every
  worker, prepares the template there, opens the sandbox (:class:`..isolation.Isolation`) and one
  nbgrader worker process per ``grade`` slot;
- :mod:`.remote`: the task run on a worker for one student;
- :mod:`.coordinator`: connect, check the workers, submit, write each result into ``out``.

``distributed`` is an optional dependency (``pip install 'autograder[cluster]'``): nothing here is
imported by a local run.
"""

from .coordinator import Coordinator

__all__ = ["Coordinator"]
