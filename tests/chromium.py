"""Debian's Chromium, headless, driven by Playwright (never a browser download of Playwright's own).

``executable()`` returns the path of ``chromium``; where it is missing it installs Debian's
``chromium`` package when running as root with apt-get, and otherwise raises ``Unavailable``
saying why. ``LAUNCH_ARGS`` are the flags that keep Chromium quiet on a machine without
internet (no background connections, no component updates, no QUIC).
"""

import os
import shutil
import subprocess


class Unavailable(RuntimeError):
    pass


LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _find():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def executable():
    path = _find()
    if path:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable("Chromium is not installed and this user cannot install it (needs root and apt-get): "
                          "`apt-get install chromium` runs the browser test")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
        if proc.returncode != 0:
            raise Unavailable(f"installing Debian's chromium failed: {(proc.stderr or proc.stdout)[-500:]}")
    path = _find()
    if path is None:
        raise Unavailable("chromium not found after installing it")
    return path
