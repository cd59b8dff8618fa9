"""Autograde a student, then write their feedback, with nbgrader's own API in a long-lived process.

``python -m autograder.nbrun COURSE_DIR ASSIGNMENT STUDENT`` does one student;
``python -m autograder.nbrun --serve`` reads one job per line on stdin (JSON: ``course_dir``,
``assignment``, ``student``, ``env``, ``log``) and answers each on stdout with one JSON line
(``rc``: 0 autograded, 1 failed). Importing nbgrader costs seconds: a worker that does it once
and grades student after student is what makes a class of a hundred quick. Each job runs through
``NbGraderAPI`` (what nbgrader's formgrader uses), configured by the ``nbgrader_config.py`` of
the student's private course folder; its log, and everything its kernel prints, goes to the
job's log file. The grader kills the worker's process group when a job runs too long.
"""

import json
import os
import sys


def grade_one(course_dir, assignment, student):
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


def serve():
    import nbgrader.apps.api  # noqa: F401 - the expensive import, once

    replies = os.fdopen(os.dup(1), "w")
    jobs = os.fdopen(os.dup(0), "r")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    base_env = dict(os.environ)
    for line in jobs:
        job = json.loads(line)
        os.environ.clear()
        os.environ.update(base_env)
        os.environ.update(job.get("env", {}))
        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log, 1)  # this job's log: nbgrader's and its kernel's output (the kernel inherits fds)
        os.dup2(log, 2)
        os.close(log)
        os.chdir(job["course_dir"])
        try:
            rc = grade_one(job["course_dir"], job["assignment"], job["student"])
        except BaseException as exc:  # noqa: BLE001 - report it; the next job gets a clean start
            print(f"[nbrun ERROR] {type(exc).__name__}: {exc}", flush=True)
            rc = 1
        sys.stdout.flush()
        sys.stderr.flush()
        replies.write(json.dumps({"rc": rc}) + "\n")
        replies.flush()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        serve()
        return 0
    return grade_one(*argv[:3])


if __name__ == "__main__":
    sys.exit(main())
