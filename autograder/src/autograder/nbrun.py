"""``python -m autograder.nbrun COURSE_DIR ASSIGNMENT STUDENT``: autograde, then write feedback.

One process for nbgrader's ``autograde`` and ``generate_feedback`` of one student, through
nbgrader's own API (``NbGraderAPI``, what its formgrader uses), configured by the
``nbgrader_config.py`` of the student's private course folder. Importing nbgrader costs seconds,
so doing both steps in one process is what makes a class of a hundred quick to grade. Exit
status 0: autograded (feedback written if it could be); 1: autograde failed; the log goes to stdout.
"""

import sys


def main(argv=None):
    course_dir, assignment, student = (sys.argv[1:] if argv is None else argv)[:3]
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


if __name__ == "__main__":
    sys.exit(main())
