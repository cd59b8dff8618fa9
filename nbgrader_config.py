# nbgrader settings of the course. They live in autograder/src/autograder/grader/nbconfig.py so that the
# instructor's own `nbgrader ...` commands and `python -m autograder` use the same ones.
# nbgrader ignores a config file that raises, so import the module from its source path.
import os
import sys

_root = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_root, "autograder", "src"))
from autograder.grader.nbconfig import configure  # noqa: E402

configure(get_config(), _root)  # noqa: F821 (get_config is provided by nbgrader)
