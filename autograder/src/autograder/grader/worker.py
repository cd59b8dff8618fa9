"""The long-lived nbgrader worker: ``python -m autograder.grader.worker --serve``, and its client.

Importing nbgrader costs seconds: a worker that does it once and grades student after student is
what makes a class of a hundred quick. The grader (:class:`NbWorker`) writes one :class:`Job` per
line on the worker's stdin; the worker autogrades that student and writes their feedback through
``NbGraderAPI`` (what nbgrader's formgrader uses), configured by the ``nbgrader_config.py`` of the
student's private course folder, and answers with one :class:`Reply` line on stdout. The job's
log file gets nbgrader's log and everything its kernel prints. A job that runs past its time
limit, or kills the worker, costs a restart of the worker (its whole process group), nothing more.
The job protocol is defined, written and parsed in this module only.
"""

import json
import os
import select
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .processes import kill_group, spawn, tool_env

MODULE = "autograder.grader.worker"


@dataclass(frozen=True)
class Job:
    course_dir: str  # the student's private nbgrader course
    assignment: str
    student: str
    env: dict[str, str]  # set for this job only (the sandbox's settings, the kernel's runtime folder)
    log: str  # the file that gets the job's output

    def encode(self) -> bytes:
        return (json.dumps(asdict(self)) + "\n").encode()

    @classmethod
    def decode(cls, line: str | bytes) -> "Job":
        return cls(**json.loads(line))


@dataclass(frozen=True)
class Reply:
    rc: int  # 0: autograded; 1: it failed

    def encode(self) -> str:
        return json.dumps(asdict(self)) + "\n"

    @classmethod
    def decode(cls, line: str | bytes) -> "Reply":
        return cls(int(json.loads(line)["rc"]))


# ------------------------------------------------------------------ in the worker process


def grade_one(course_dir: str, assignment: str, student: str) -> int:
    """Autograde, then generate feedback; print the logs; return 0 if autograded, else 1."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=course_dir).load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    result = api.autograde(assignment, student, force=True, create=True)
    print(result.get("log", ""), flush=True)
    if not result["success"]:
        print(result.get("error", "autograde failed"), flush=True)
        return 1
    feedback = api.generate_feedback(assignment, student, force=True)
    print(feedback.get("log", ""), flush=True)
    if not feedback["success"]:
        print("[feedback ERROR] " + feedback.get("error", "generate_feedback failed"), flush=True)
    return 0


def serve() -> None:
    """Answer jobs on stdin until it closes; each job's output goes to its log, not to stdout."""
    import nbgrader.apps.api  # noqa: F401 - the expensive import, once

    replies = os.fdopen(os.dup(1), "w")
    jobs = os.fdopen(os.dup(0), "r")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    base_env = dict(os.environ)
    for line in jobs:
        job = Job.decode(line)
        os.environ.clear()
        os.environ.update(base_env)
        os.environ.update(job.env)
        log = os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log, 1)  # this job's log: nbgrader's and its kernel's output (the kernel inherits fds)
        os.dup2(log, 2)
        os.close(log)
        os.chdir(job.course_dir)
        try:
            rc = grade_one(job.course_dir, job.assignment, job.student)
        except BaseException as exc:  # noqa: BLE001 - report it; the next job gets a clean start
            print(f"[worker ERROR] {type(exc).__name__}: {exc}", flush=True)
            rc = 1
        sys.stdout.flush()
        sys.stderr.flush()
        replies.write(Reply(rc).encode())
        replies.flush()


# ------------------------------------------------------------------ in the grader


class NbWorker:
    """The grader's handle on one worker process, started on the first job and again after a failure."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def run(self, course_dir: Path, assignment: str, student: str, env: dict[str, str], log_path: Path,
            timeout: float) -> tuple[int | None, str]:
        """Autograde and write feedback for one student; return (0 or 1, None on timeout; the job's log)."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = spawn([sys.executable, "-m", MODULE, "--serve"], env=tool_env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        job = Job(str(course_dir), assignment, student, env, str(log_path))
        rc = None
        try:
            self.proc.stdin.write(job.encode())
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            line = self.proc.stdout.readline() if ready else b""
            if ready and line:
                rc = Reply.decode(line).rc
            elif ready:  # the worker died (it ran the job's kernel, which may have taken it along)
                rc = 1
        except (OSError, ValueError, KeyError):
            rc = 1
        if rc is None or self.proc.poll() is not None:
            self.stop()
        try:
            text = Path(log_path).read_text(errors="replace")
        except OSError:
            text = ""
        if rc is None:
            text += f"\n[grader] stopped after {timeout:.0f} s\n"
        return rc, text

    def stop(self) -> None:
        """Stop the worker and everything it started (a no-op when none runs)."""
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        kill_group(self.proc)
        self.proc = None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["--serve"]:
        print(f"usage: python -m {MODULE} --serve  (jobs as JSON lines on stdin)", file=sys.stderr)
        return 2
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
