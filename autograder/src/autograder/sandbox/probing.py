"""Check on this machine that the sandbox starts and holds, and say what to do where it does not.

The grader runs :func:`probe` before grading: a script run inside the sandbox tries to read a file
outside it, write outside its scratch folder and reach the network; the sandbox is used only
if all of that fails and the script still ran, as a uid of its own.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import SandboxError
from . import bwrap
from .settings import ENV_VAR, KERNEL_NAME, Settings, running_as_root

PROBE_SCRIPT = r"""
import json, os, socket, sys
secret, outside = sys.argv[1], sys.argv[2]
found = {"uid": os.getuid(), "pid": os.getpid()}
try:
    open(secret).read(); found["read_secret"] = True
except OSError:
    found["read_secret"] = False
try:
    open(os.path.join(outside, "written"), "w").write("x"); found["wrote_outside"] = True
except OSError:
    found["wrote_outside"] = False
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2); found["network"] = True
except OSError:
    found["network"] = False
open("next_to_me.txt", "w").write("scratch")
found["scratch_ok"] = open("next_to_me.txt").read() == "scratch"
import numpy
found["numpy"] = numpy.__version__
print("PROBE " + json.dumps(found))
"""

CONTAINER_HINT = ("in a container, the runtime must let bubblewrap create namespaces and mounts: e.g. "
                  "`docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined` "
                  "(or --privileged), and grade as an ordinary user or as root with CAP_SYS_ADMIN; see the "
                  "instructor guide")


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def diagnose() -> list[str]:
    """What this machine's settings forbid that the sandbox needs, and how to allow it."""
    found = []
    if running_as_root():
        return found  # root needs no user namespace
    if _read("/proc/sys/user/max_user_namespaces") == "0":
        found.append("user namespaces are switched off: `sysctl -w user.max_user_namespaces=10000` (as root)")
    if _read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        found.append("unprivileged user namespaces are switched off: `sysctl -w kernel.unprivileged_userns_clone=1` "
                     "(as root)")
    if _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        found.append("AppArmor restricts unprivileged user namespaces (Ubuntu 23.10 and later): use the "
                     f"distribution's bwrap, which has a profile (`apt install bubblewrap`, {bwrap.BWRAP_VAR}=/usr/bin/bwrap)"
                     ", or `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` (as root)")
    return found


def probe(settings: Settings, timeout: float = 60) -> str | None:
    """Check that the sandbox works and isolates here; return None, or why it does not and what to do."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (this is {sys.platform})"
    try:
        bwrap.find_bwrap()
    except SandboxError as exc:
        return str(exc)
    with tempfile.TemporaryDirectory(prefix="agr-probe-") as tmp:
        tmp = Path(tmp)
        secret = tmp / "secret.txt"
        secret.write_text("hidden")
        work = tmp / "work"
        work.mkdir()
        env = dict(os.environ, **{ENV_VAR: settings.to_env()})
        cmd = [sys.executable, "-I", "-m", "autograder.sandbox", "run", "--", sys.executable, "-I", "-c", PROBE_SCRIPT,
               str(secret), str(tmp)]
        try:
            proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return f"the sandbox probe did not finish in {timeout:.0f} s"
        lines = [line for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
        if proc.returncode != 0 or not lines:
            detail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            advice = diagnose() or [CONTAINER_HINT]
            return f"the sandbox could not be set up: {detail[-300:]}; " + "; ".join(advice)
        found = json.loads(lines[-1][6:])
        problems = [what for what, bad in (("it could read a file outside it", found["read_secret"]),
                                           ("it could write outside its scratch folder", found["wrote_outside"]),
                                           ("it could reach the network", found["network"]),
                                           ("it still ran as root", found["uid"] == 0),
                                           ("it could not write its scratch folder", not found["scratch_ok"]))
                    if bad]
        if (tmp / "written").exists():
            problems.append("it wrote into a host folder outside its scratch folder")
        if (work / "next_to_me.txt").exists():
            problems.append("its scratch files reached the host folder")
        if problems:
            return "the sandbox is not tight: " + "; ".join(problems)
    return None


def write_kernelspec(jupyter_dir: Path) -> None:
    """A kernelspec that runs ipykernel in the sandbox; use it with ``JUPYTER_PATH=jupyter_dir``."""
    spec = Path(jupyter_dir) / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        # -I: the launcher runs in the notebook's folder, whose files must not shadow a module
        "argv": [sys.executable, "-I", "-m", "autograder.sandbox", "kernel", "{connection_file}"],
        "display_name": "Python 3 (sandboxed grading)",
        "language": "python",
        "interrupt_mode": "signal",
    }, indent=1))
