"""The sandbox's parts that need no namespace: events, settings, labels, the bwrap command line, advice."""

import io
import os
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.sandbox import bwrap, events, probing, settings


def test_events_round_trip_and_ignore_other_lines():
    log = io.StringIO()
    print("[AutogradeApp] some nbgrader line mentioning the memory limit", file=log)
    events.emit(events.MEMORY_LIMIT, stream=log, megabytes=1024)
    print('autograder.sandbox event: {"event": "not-an-event"}', file=log)
    print("autograder.sandbox event: {broken json", file=log)
    events.emit(events.IGNORED_INTERRUPT, stream=log, cell_timeout=10)
    text = log.getvalue()
    assert [r["event"] for r in events.parse(text)] == [events.MEMORY_LIMIT, events.IGNORED_INTERRUPT]
    assert events.parse(text)[0]["megabytes"] == 1024
    assert events.found(text) == {events.MEMORY_LIMIT, events.IGNORED_INTERRUPT}
    assert events.found("the memory limit was reached") == set()  # free text is never an event


def test_an_unknown_event_cannot_be_emitted():
    with pytest.raises(ValueError, match="unknown sandbox event"):
        events.emit("memory limit", stream=io.StringIO())


def test_settings_travel_through_the_environment():
    s = sandbox.Settings(uid=61003, readonly=["/usr"], writable=["/tmp/agk-x"], env={"A": "1"}, cell_timeout=7.5)
    assert sandbox.Settings.from_env({sandbox.ENV_VAR: s.to_env()}) == s
    with pytest.raises(sandbox.SandboxError, match=sandbox.ENV_VAR):
        sandbox.Settings.from_env({})


@pytest.mark.parametrize("uid_map, mapped", [
    ("         0          0 4294967295\n", True),  # the host: every uid
    ("         0       1000          1\n", False),  # `unshare -r` / a rootless container: root only
    ("         0     100000      65536\n", True),  # a container with 65536 uids
    ("         0     100000      61500\n", False),  # too few for the slots' uids
])
def test_root_sandboxes_as_root_only_where_the_slots_uids_exist(uid_map, mapped):
    assert settings.slots_mapped(uid_map) is mapped


def _cgroup(folder: Path, **files) -> str:
    folder.mkdir(parents=True)
    for name, value in files.items():
        (folder / name.replace("_", ".", 1)).write_text(f"{value}\n")
    return str(folder / "cgroup.procs")


def test_the_label_says_which_limits_hold(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "running_as_root", lambda: True)
    with_cgroups = sandbox.Settings(memory_bytes=1 << 30, nproc=512, cgroups=[
        _cgroup(tmp_path / "memory", memory_limit_in_bytes=1 << 30), _cgroup(tmp_path / "pids", pids_max=1024)])
    assert sandbox.limits_label(with_cgroups) == "root; cgroup memory 1024 MB; rlimit 512 processes, cgroup 1024 processes"
    monkeypatch.setattr(settings, "running_as_root", lambda: False)
    alone = sandbox.Settings(memory_bytes=2 << 30, nproc=256)
    assert sandbox.limits_label(alone) == "user; rlimit memory 2048 MB per process; rlimit 256 processes"


def test_hand_over_chowns_only_as_root(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "chown", lambda *a: calls.append(a))
    monkeypatch.setattr(settings, "running_as_root", lambda: False)
    sandbox.hand_over(tmp_path, 61001)
    assert calls == []
    monkeypatch.setattr(settings, "running_as_root", lambda: True)
    sandbox.hand_over(tmp_path, 61001)
    assert calls == [(tmp_path, 61001, 61001)]


def _plan(tmp_path, monkeypatch, as_root, **kw):
    monkeypatch.setattr(bwrap, "find_bwrap", lambda: "/fake/bwrap")
    monkeypatch.setattr(bwrap, "running_as_root", lambda: as_root)
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "data.txt").write_text("x")
    (work / "sub" / "more.txt").write_text("y")
    (work / "answer.ipynb").write_text("{}")
    (work / "link").symlink_to("/etc/passwd")
    s = sandbox.Settings(uid=61002, readonly=["/usr", "/etc"], writable=[str(tmp_path / "rt")], **kw)
    (tmp_path / "rt").mkdir()
    plan = bwrap.plan(s, work, ["python", "-c", "pass"])
    plan.close()
    return plan.argv, work


def _option(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_plan_as_a_user_maps_the_slot_uid_in_a_user_namespace(tmp_path, monkeypatch):
    argv, work = _plan(tmp_path, monkeypatch, as_root=False)
    assert argv[0] == "/fake/bwrap" and "--unshare-user" in argv and "--disable-userns" in argv
    assert _option(argv, "--uid") == ["61002"] and "setpriv" not in " ".join(argv)
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent"):
        assert flag in argv
    command = argv[argv.index("--") + 1:]
    assert command[0].endswith("prlimit") and command[-3:] == ["python", "-c", "pass"]
    assert "--nproc=512:512" in command and f"--as={4 << 30}:{4 << 30}" in command  # no memory cgroup


def test_plan_as_root_drops_to_the_slot_uid_without_a_user_namespace(tmp_path, monkeypatch):
    argv, _ = _plan(tmp_path, monkeypatch, as_root=True)
    assert "--unshare-user" not in argv and _option(argv, "--cap-add") == ["CAP_SETUID", "CAP_SETGID"]
    command = argv[argv.index("--") + 1:]
    assert command[0].endswith("setpriv") and "--reuid=61002" in command and "--no-new-privs" in command


def test_plan_copies_the_folder_but_not_notebooks_or_links(tmp_path, monkeypatch):
    argv, work = _plan(tmp_path, monkeypatch, as_root=False)
    copied = [argv[i + 2] for i, a in enumerate(argv) if a == "--file"]
    assert copied == [str(work / "data.txt"), str(work / "sub" / "more.txt")]
    assert str(work / "sub") in _option(argv, "--dir")
    assert _option(argv, "--chdir") == [str(work)]


def test_plan_mounts_scratch_first_and_seals_folders_below_tmp(tmp_path, monkeypatch):
    argv, work = _plan(tmp_path, monkeypatch, as_root=False)
    tmpfs = _option(argv, "--tmpfs")
    assert tmpfs[:2] == ["/dev/shm", "/tmp"] and str(work) in tmpfs
    assert argv.index("/tmp") < argv.index(str(tmp_path / "rt"))  # the bound runtime folder stays visible
    if str(tmp_path).startswith("/tmp/"):
        shell = "/".join(str(tmp_path).split("/")[:3])  # /tmp/<first folder>: a tmpfs, read-only at the end
        assert shell in tmpfs and shell in _option(argv, "--remount-ro")
    assert _option(argv, "--remount-ro")[-1] == "/"
    assert all(_option(argv, "--perms")[i] in ("0755", "1777", "0777", "0666") for i in range(len(_option(argv, "--perms"))))


def test_the_advice_names_the_switch_that_is_off(monkeypatch):
    values = {"/proc/sys/user/max_user_namespaces": "0", "/proc/sys/kernel/unprivileged_userns_clone": "0",
              "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1"}
    monkeypatch.setattr(probing, "_read", values.get)
    monkeypatch.setattr(probing, "running_as_root", lambda: False)
    advice = " ".join(probing.diagnose())
    assert "user.max_user_namespaces" in advice and "unprivileged_userns_clone=1" in advice
    assert "AppArmor" in advice and bwrap.BWRAP_VAR in advice
    monkeypatch.setattr(probing, "_read", lambda path: None)
    assert probing.diagnose() == []


def test_a_missing_bwrap_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv(bwrap.BWRAP_VAR, "/nonexistent/bwrap")
    with pytest.raises(sandbox.SandboxError, match="not an executable"):
        bwrap.find_bwrap()
