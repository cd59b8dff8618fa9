"""The errors the instructor's command line turns into ``error: ...`` and exit status 2.

Everything else that goes wrong is a bug of the course and keeps its traceback.
"""


class AutograderError(RuntimeError):
    """The command cannot go on; the message says why and, where it can, what to do."""


class GraderError(AutograderError):
    """The grader itself cannot go on (bad arguments, broken course files, nbgrader failing)."""


class SandboxError(AutograderError):
    """The sandbox cannot be set up on this machine (the message says why)."""
