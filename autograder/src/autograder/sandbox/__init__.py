"""The sandbox student code runs in while it is graded, built by bubblewrap.

Each student kernel and each cross-check child runs in a fresh mount, PID, network, IPC and UTS
namespace (:mod:`.bwrap`): the system, Python, the venv, the course package and the data folder
read-only; private, size-limited tmpfs for the working folder (holding a copy of its files, never
the notebook), ``/tmp`` and ``/dev/shm``; no network; as a uid of its own; rlimits on processes,
CPU time, file size, open files and (without a memory cgroup) address space; memory and pids
cgroups per worker slot where the grader may create them (:mod:`.cgroups`). It dies with the
grader. It works as root (no user namespace; the command drops to uid ``UID_BASE + slot``) and as
an ordinary user (a user namespace; needs unprivileged user namespaces, see :func:`.probing.diagnose`).

The launcher (:mod:`.launcher`, ``python -m autograder.sandbox``) watches it from outside and reports
what happened as :mod:`.events`; :func:`probe` checks on this machine that it starts and holds.
"""

from .. import lazy_attributes
from ..errors import SandboxError
from . import events
from .cgroups import Cgroups
from .settings import (ENV_VAR, KERNEL_NAME, UID_BASE, Settings, default_readonly, hand_over, limits_label,
                       running_as_root)

# The probe loads on first use: the launcher (twice per graded submission) never needs it.
_LAZY = {"diagnose": "probing", "probe": "probing", "write_kernelspec": "probing"}

__all__ = ["ENV_VAR", "KERNEL_NAME", "UID_BASE", "Cgroups", "SandboxError", "Settings", "default_readonly",
           "diagnose", "events", "hand_over", "limits_label", "probe", "running_as_root", "write_kernelspec"]

__getattr__ = lazy_attributes(__name__, _LAZY)
