"""Autograde a class of submissions with nbgrader, robustly, in parallel, resumably.

``grade(assignment, submissions, out)`` prepares the assignment once as a private nbgrader
course under ``out/course/template`` (``generate_assignment``, a fresh gradebook), then grades
every student in a copy of it of their own, ``out/course/students/<id>`` (own gradebook, own
nbgrader process and process group: a crash, a hang or a corrupt file costs that student only;
students run in parallel). Each student's result is saved with hashes of the submission and of
the assignment, so a second run re-uses what has not changed and a killed run resumes. It
writes feedback HTML without hidden tests and exports ``grades.csv`` (one row per student, with
the reason wherever grading was not complete) plus a per-test summary (``summary.csv``,
``summary.md``).

Student code runs in the sandbox of :mod:`autograder.sandbox` where the machine allows it
(:class:`Isolation`), each worker slot as its own uid; nbgrader itself runs in long-lived worker
processes (:class:`NbWorker`, :mod:`autograder.nbrun`). A cell that kills the kernel is skipped on
a second attempt (:func:`_autograde`, :mod:`autograder.execute`). Where the assignment has one,
the cross-check of :mod:`autograder.crosscheck` flags scores that the graded functions, re-run
outside the grading kernel, do not confirm.
"""

import csv
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import course_root, sandbox
from .fingerprint import fingerprint as setup_fingerprint
from .nbconfig import CELL_TIMEOUT


class GraderError(RuntimeError):
    """The grader itself cannot go on (bad arguments, broken course files, nbgrader failing)."""


# --------------------------------------------------------------------------- the assignment


@dataclass
class TestCell:
    grade_id: str
    notebook: str
    points: float


@dataclass
class Assignment:
    name: str
    source: Path
    notebooks: list  # names without .ipynb
    tests: list  # TestCell, in notebook order
    known_ids: dict  # notebook -> set of grade_ids of every nbgrader cell

    @property
    def max_score(self):
        return sum(t.points for t in self.tests)


def load_assignment(name, root=None) -> Assignment:
    root = Path(root) if root else course_root()
    if root is None:
        raise GraderError("cannot find the course checkout (a folder with _config.yml and solutions/)")
    source = root / "solutions" / name
    if not source.is_dir():
        available = sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
        raise GraderError(f"no assignment {name!r} in {root / 'solutions'}; available: {', '.join(available)}")
    notebooks, tests, known = [], [], {}
    for path in sorted(source.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        notebooks.append(path.stem)
        known[path.stem] = set()
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if "grade_id" in meta:
                known[path.stem].add(meta["grade_id"])
            if meta.get("grade"):
                tests.append(TestCell(meta["grade_id"], path.stem, float(meta.get("points", 0))))
    if not notebooks:
        raise GraderError(f"assignment {name!r} has no notebook in {source}")
    return Assignment(name, source, notebooks, tests, known)


def assignment_names(root=None):
    root = Path(root) if root else course_root()
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


# --------------------------------------------------------------------------- nbgrader calls


def tool_env():
    """The environment for running the venv's tools (nbgrader, alembic, python -m autograder)."""
    env = dict(os.environ)
    # nbgrader runs `alembic` by name when it creates a gradebook.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def nbgrader(args, cwd, *, timeout=None, log_path=None, env=None, module="nbgrader", argv=None):
    """Run ``nbgrader ARGS`` in ``cwd``; return (returncode, or None on timeout, and its output).

    ``module``/``argv``: run ``python -m MODULE ARGV`` instead (``autograder.nbrun``: autograde and
    feedback in one process); ``args`` then only names the step in the log.

    It runs in a session of its own, so that on a timeout the whole process group goes,
    the notebook's kernel (which may be spinning in a loop) included.
    """
    cmd = [sys.executable, "-m", module, *(args if argv is None else argv)]
    with tempfile.TemporaryFile("w+") as out_file:
        proc = subprocess.Popen(cmd, cwd=cwd, env={**tool_env(), **(env or {})}, stdout=out_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, start_new_session=True,
                                preexec_fn=sandbox.dies_with_parent())
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # leftovers: kernels of a finished or stopped run
            except ProcessLookupError:
                pass
            proc.wait()
        out_file.seek(0)
        out = out_file.read()
    if log_path:
        Path(log_path).write_text(f"$ nbgrader {' '.join(args)}\n{out}")
    return rc, out


class NbWorker:
    """A long-lived ``python -m autograder.nbrun --serve``, in a session of its own: it imports
    nbgrader once and autogrades student after student (a job that runs past its time limit, or
    kills the worker, costs a restart, nothing more)."""

    def __init__(self):
        self.proc = None

    def run(self, course_dir, assignment, student, env, log_path, timeout):
        """Autograde and write feedback for one student; return (0/1, or None on timeout, and the log)."""
        import select

        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, "-m", "autograder.nbrun", "--serve"], env=tool_env(),
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         start_new_session=True, preexec_fn=sandbox.dies_with_parent())
        job = {"course_dir": str(course_dir), "assignment": assignment, "student": student, "env": env,
               "log": str(log_path)}
        rc = None
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            line = self.proc.stdout.readline() if ready else b""
            if ready and line:
                rc = int(json.loads(line)["rc"])
            elif ready:  # the worker died (it ran the job's kernel, which may have taken it along)
                rc = 1
        except (OSError, ValueError):
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

    def stop(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None


def release(assignments=None, root=None, log=print):
    """Regenerate ``exercises/A`` from ``solutions/A`` for each assignment (all by default)."""
    root = Path(root) if root else course_root()
    names = assignments or assignment_names(root)
    for name in names:
        load_assignment(name, root)  # clear error for an unknown name
        rc, out = nbgrader(["generate_assignment", name, "--force", "--no-db"], cwd=root)
        if rc != 0:
            raise GraderError(f"nbgrader generate_assignment {name} failed:\n{out[-3000:]}")
        for path in sorted((root / "exercises" / name).rglob("*.ipynb")):
            text = path.read_text()
            for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
                if marker in text:
                    raise GraderError(f"{path} still contains {marker!r}: check the nbgrader markers")
        log(f"released {name} -> {root / 'exercises' / name}")
    return names


# --------------------------------------------------------------------------- submissions


@dataclass
class Student:
    id: str
    label: str  # the folder name as submitted
    files: list  # paths of .ipynb files found for this student
    result: dict = field(default_factory=dict)
    digest: str = ""


def _safe_extract(zip_path: Path, dest: Path):
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = info.filename
            parts = Path(name).parts
            if name.startswith(("/", "\\")) or ".." in parts or (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise GraderError(f"{zip_path}: refusing unsafe member {name!r}")
        zf.extractall(dest)


def _student_id(label, taken):
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or "student"
    sid, n = base, 2
    while sid in taken:
        sid, n = f"{base}_{n}", n + 1
    taken.add(sid)
    return sid


def _is_junk(path: Path):
    return any(p.startswith(".") or p == "__MACOSX" for p in path.parts)


def discover(submissions: Path, scratch: Path):
    """Students in a folder laid out ``<student>/<notebook>.ipynb``, or in a zip of one."""
    submissions = Path(submissions)
    if not submissions.exists():
        raise GraderError(f"submissions not found: {submissions}")
    if submissions.is_file():
        if not zipfile.is_zipfile(submissions):
            raise GraderError(f"{submissions} is neither a folder nor a zip file")
        dest = scratch / "unzipped"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        _safe_extract(submissions, dest)
        submissions = dest
    top = submissions
    dirs = [d for d in sorted(top.iterdir()) if d.is_dir() and not _is_junk(d.relative_to(top))]
    # A zip often wraps everything in one folder: look inside it.
    if len(dirs) == 1 and not any(dirs[0].glob("*.ipynb")) and any(d.is_dir() for d in dirs[0].iterdir()):
        top = dirs[0]
        dirs = [d for d in sorted(top.iterdir()) if d.is_dir() and not _is_junk(d.relative_to(top))]
    taken, students = set(), []
    for d in dirs:
        files = sorted(p for p in d.rglob("*.ipynb") if not _is_junk(p.relative_to(d)))
        students.append(Student(_student_id(d.name, taken), d.name, files))
    return students


# --------------------------------------------------------------------------- one student


def _pick_notebook(student, nb_name, single):
    exact = [p for p in student.files if p.name == f"{nb_name}.ipynb"]
    if exact:
        return exact[0], None
    if single and len(student.files) == 1:
        p = student.files[0]
        return p, f"notebook {p.name} graded as {nb_name}.ipynb"
    return None, None


def _normalise(nb, known_ids, notes):
    """Strip nbgrader metadata that would stop nbgrader: unknown or duplicated grade ids.

    Test cells that are missing afterwards are restored from the gradebook by nbgrader
    (``OverwriteCells.add_missing_cells``), so the student is graded on every test.
    """
    seen = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        gid = meta.get("grade_id")
        if gid not in known_ids:
            notes.append(f"cell with unknown grade id {gid!r} treated as an ordinary cell")
            del cell.metadata["nbgrader"]
        elif gid in seen:
            notes.append(f"duplicate cell {gid!r} treated as an ordinary cell")
            del cell.metadata["nbgrader"]
        else:
            seen.add(gid)
    for gid in sorted(known_ids - seen):
        notes.append(f"cell {gid!r} was missing and was restored from the assignment")
    return nb


def _explain_failure(rc, out, wall_limit):
    if rc is None:
        return f"grading was stopped after {wall_limit:.0f} s (the notebook kept running); nothing could be graded"
    if "DeadKernelError" in out or "Kernel died" in out or "kernel died" in out:
        return "the Python kernel died while running the notebook (for example os._exit or running out of memory); nothing could be graded"
    errors = [line.strip() for line in out.splitlines() if "[ERROR]" in line or "Error:" in line]
    detail = errors[-1] if errors else (out.strip().splitlines() or ["no output"])[-1]
    return f"nbgrader could not autograde the notebook: {detail[-300:]}"


def _read_scores(db_url, assignment, student_id, tests):
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(db_url) as gb:
        for t in tests:
            try:
                g = gb.find_grade(t.grade_id, t.notebook, assignment, student_id)
            except MissingEntry:
                continue
            if g.auto_score is not None and not g.needs_manual_grade:
                scores[t.grade_id] = float(g.auto_score)
    return scores


def _timeouts(autograded_dir):
    """Cells that were interrupted for running too long, from the autograded notebooks."""
    found = []
    for path in sorted(Path(autograded_dir).glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001
            continue
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                text = json.dumps(output)
                if "CellTimeoutError" in text or "Cell execution timed out" in text or "KeyboardInterrupt" in text:
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id", "?")
                    found.append(gid)
                    break
    return found


# --------------------------------------------------------------------------- feedback


FALLBACK_FEEDBACK = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback: {assignment}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
td,th{{padding:.2em .8em;text-align:left}}</style></head>
<body><h1>Feedback: {assignment}</h1>
<p><strong>Student:</strong> {student}</p>
<p><strong>Score:</strong> {score:g} / {max_score:g}</p>
<p><strong>Your submission could not be graded automatically.</strong> {reason}</p>
<p>Fix the problem (open the notebook, <em>Kernel &rarr; Restart &amp; Run All</em>, check that every
cell runs), then resubmit or talk to your instructor.</p>
<table><tr><th>test</th><th>points</th></tr>{rows}</table>
</body></html>
"""


def _fallback_feedback(path, assignment, student, score, max_score, reason, tests, scores):
    rows = "".join(
        f"<tr><td>{html.escape(t.grade_id)}</td><td>{scores.get(t.grade_id, 0.0):g} / {t.points:g}</td></tr>"
        for t in tests
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FALLBACK_FEEDBACK.format(assignment=html.escape(assignment), student=html.escape(student),
                                             score=score, max_score=max_score, reason=html.escape(reason),
                                             rows=rows))


# --------------------------------------------------------------------------- isolation


class Isolation:
    """How student code runs while grading: in the sandbox where it can be set up, else unsandboxed.

    ``mode`` is ``auto`` (sandbox if the probe passes, else grade unsandboxed with a loud
    warning), ``require`` (stop if it cannot be set up) or ``off``. In the sandbox, worker slot k
    runs as its own uid with its own memory and pids cgroup (see :mod:`autograder.sandbox`).
    """

    def __init__(self, mode, work, slots, memory_mb, cell_timeout, wall_limit, log=print):
        from . import sandbox

        self.mode, self.slots, self.cell_timeout, self.wall_limit = mode, slots, cell_timeout, wall_limit
        self.memory_bytes = int(memory_mb) << 20
        self.cgroups, self.jupyter_dir = None, work / "jupyter"
        if mode not in ("auto", "require", "off"):
            raise GraderError(f"--sandbox must be auto, require or off, not {mode!r}")
        self.problem = "turned off (--sandbox off)" if mode == "off" else sandbox.probe(self.settings(0, ""))
        if self.problem and mode == "require":
            raise GraderError(f"the sandbox cannot be used here: {self.problem}")
        self.slot_pool = __import__("queue").Queue()
        for slot in range(slots):
            self.slot_pool.put(slot)
        if self.problem:
            log("WARNING: grading UNSANDBOXED: student code runs as this user, with access to everything it can "
                f"read, write and reach ({self.problem})")
            return
        sandbox.write_kernelspec(self.jupyter_dir)
        self.cgroups = sandbox.Cgroups(f"{os.getpid()}-{time.monotonic_ns() % 10**6}", slots, self.memory_bytes,
                                       pids=1024)
        limit = (f"memory {memory_mb} MB per submission (cgroup)" if not self.cgroups.problem
                 else f"memory {memory_mb} MB per process (RLIMIT_AS: {self.cgroups.problem})")
        log(f"sandbox on: student code runs as uids {sandbox.UID_BASE}..{sandbox.UID_BASE + slots - 1}, no network, "
            f"no view of the course, gradebook or other submissions; {limit}")

    @property
    def on(self):
        return self.problem is None

    @property
    def label(self):
        return "on" if self.on else f"OFF: {self.problem}"

    def settings(self, slot, runtime):
        from . import data, sandbox

        readonly = sandbox.default_readonly()
        env = {}
        data_dir = data.default_data_dir()
        if data_dir.is_dir():
            readonly.append(str(data_dir.resolve()))
            env[data.ENV_VAR] = str(data_dir.resolve())
        cgroups = self.cgroups.procs.get(slot, []) if self.cgroups else []
        return sandbox.Settings(uid=sandbox.UID_BASE + slot, readonly=readonly, writable=[runtime] if runtime else [],
                                env=env, cgroups=cgroups, memory_bytes=self.memory_bytes,
                                cpu_seconds=int(2 * self.wall_limit), cell_timeout=self.cell_timeout,
                                root_parent=runtime)

    def student(self, slot):
        """(environment, nbgrader config lines, runtime folder or None) for one student in ``slot``."""
        if not self.on:
            return {}, {}, None
        from . import sandbox

        runtime = tempfile.mkdtemp(prefix="agk-")  # short: a unix socket path has at most 107 bytes
        os.chown(runtime, sandbox.UID_BASE + slot, sandbox.UID_BASE + slot)
        env = {"JUPYTER_PATH": str(self.jupyter_dir), "JUPYTER_RUNTIME_DIR": runtime,
               sandbox.ENV_VAR: self.settings(slot, runtime).to_env()}
        # The kernel has no network: it talks to nbgrader over unix sockets in the runtime folder.
        config = {"Execute.kernel_name": sandbox.KERNEL_NAME, "KernelManager.transport": "ipc",
                  "KernelManager.ip": f"{runtime}/k"}
        return env, config, runtime

    def close(self):
        if self.cgroups:
            self.cgroups.close()


# --------------------------------------------------------------------------- the whole class


def grade(assignment, submissions, out, *, cell_timeout=CELL_TIMEOUT, root=None, log=print, workers=None,
          force=False, sandbox="auto", memory_mb=4096, db_url=None):
    """Grade every submission; return the list of result rows (also written to ``out``).

    Each student is graded in a private nbgrader course of its own (a copy of the assignment's
    prepared course, with its own gradebook), so students can be graded in parallel (``workers``,
    default: the number of cores) and one student's failure touches nobody else. A student's
    result is kept in ``out/course/students/<id>/result.json`` with a hash of the submission and
    of the assignment: grading the same input again re-uses it (``force`` re-grades), a late
    submission is graded alone, and a run that was killed half-way resumes where it stopped.
    """
    t_start = time.monotonic()
    root = Path(root) if root else course_root()
    a = load_assignment(assignment, root)
    if db_url:
        _check_db_url(db_url)
    out = Path(out).resolve()
    with _lock(out):  # one run at a time into one folder
        return _grade_class(a, submissions, out, cell_timeout, log, workers, force, sandbox, memory_mb, db_url,
                            t_start)


def _grade_class(a, submissions, out, cell_timeout, log, workers, force, sandbox, memory_mb, db_url, t_start):
    assignment = a.name
    students = discover(submissions, out)
    work = out / "course"
    fingerprint = _prepare_template(a, work, cell_timeout, db_url)
    workers = max(1, int(workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()) or 1))
    n_cells = sum(len(nbformat.read(a.source / f"{nb}.ipynb", as_version=4).cells) for nb in a.notebooks)
    wall_limit = n_cells * cell_timeout + 120
    iso = Isolation(sandbox, work, workers, memory_mb, cell_timeout, wall_limit, log)
    todo, kept = [], 0
    for st in students:
        st.digest = _submission_digest(st)
        previous = _load_result(work / "students" / st.id, fingerprint, st.digest)
        if previous is not None and iso.on and previous.get("sandbox") != "on":
            previous = None  # graded unsandboxed before: grade it in the sandbox now
        if previous is not None and not force:
            st.result = previous
            kept += 1
        else:
            todo.append(st)
    log(f"grading {assignment}: {len(students)} submission(s), {len(todo)} to grade, {kept} unchanged since the "
        f"last run; {len(a.tests)} test cells, {a.max_score:g} points, cell timeout {cell_timeout} s, "
        f"{min(workers, max(1, len(todo)))} worker(s)")
    lock = threading.Lock()
    nonce = os.urandom(8).hex()  # the cross-check's inputs: new ones for every run
    nb_workers = {slot: NbWorker() for slot in range(workers)}

    def one(st):
        slot = iso.slot_pool.get()
        try:
            st.result = _grade_student(a, st, work, cell_timeout, wall_limit, fingerprint, iso, slot, nonce,
                                       nb_workers[slot], db_url)
        finally:
            iso.slot_pool.put(slot)
        with lock:
            log(f"  {st.id:<24} {st.result['score']:>5g} / {a.max_score:g}  {st.result['status']}"
                + (f"  ({st.result['reason']})" if st.result["reason"] else ""))

    try:
        if todo:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for future in [pool.submit(one, st) for st in todo]:
                    future.result()
    finally:
        for w in nb_workers.values():
            w.stop()
        iso.close()
    rows = [st.result for st in students]
    _collect_feedback(a, students, work, out)
    _write_reports(a, rows, out)
    unsandboxed = sum(1 for r in rows if r.get("sandbox") != "on")
    if unsandboxed:
        log(f"WARNING: {unsandboxed} submission(s) were graded UNSANDBOXED (see the sandbox column of grades.csv)")
    log(f"graded {len(rows)} submission(s) ({len(todo)} graded now, {kept} kept) in "
        f"{time.monotonic() - t_start:.1f} s; results in {out}")
    return rows


def _lock(out):
    """Hold ``out/.grading.lock`` (released when the returned file is closed or this process dies):
    two runs into the same folder would grade the same students in the same places."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    f = open(out / ".grading.lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "?"
        f.close()
        raise GraderError(f"another grading run (pid {holder}) is writing into {out}: wait for it to finish, or "
                          "stop it and run this again (the grades it finished are kept)") from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def _check_db_url(db_url):
    """A shared gradebook URL that nbgrader can use, or a clear error."""
    if not db_url.startswith(("postgresql+psycopg://", "sqlite:///")):
        raise GraderError(f"--db-url must be postgresql+psycopg://USER@HOST[:PORT]/DB or sqlite:///PATH, not {db_url!r}")
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(db_url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to connect ends here, with the reason
        raise GraderError(f"cannot open the gradebook at {db_url}: {type(exc).__name__}: {str(exc)[:300]}") from None


def _fingerprint(a, cell_timeout, db_url=None):
    root = course_root()
    return setup_fingerprint(a.source, f"timeout={int(cell_timeout)} db={db_url or 'sqlite'}",
                             course_config=root / "nbgrader_config.py" if root else None)


def _submission_digest(st):
    h = hashlib.sha256(st.label.encode() + b"\0")
    for path in st.files:
        h.update(str(path.name).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError as exc:
            h.update(repr(exc).encode())
        h.update(b"\0")
    return h.hexdigest()


def _load_result(student_dir, fingerprint, digest):
    try:
        saved = json.loads((student_dir / "result.json").read_text())
    except (OSError, ValueError):
        return None
    if saved.get("fingerprint") != fingerprint or saved.get("digest") != digest:
        return None
    if not all((student_dir / "feedback" / name).is_file() for name in saved.get("feedback", [])):
        return None
    return saved["row"]


def _prepare_template(a, work, cell_timeout, db_url=None):
    """Prepare ``work/template``, the assignment as an nbgrader course with a gradebook; return its fingerprint.

    Re-used while the assignment, the cell timeout and the grading code are unchanged; otherwise
    rebuilt, and every student's earlier result becomes stale (its fingerprint no longer matches).
    """
    fingerprint = _fingerprint(a, cell_timeout, db_url)
    tdir = work / "template"
    stamp = tdir / "ready.json"
    try:
        if json.loads(stamp.read_text())["fingerprint"] == fingerprint:
            return fingerprint
    except (OSError, ValueError, KeyError):
        pass
    if work.exists():
        shutil.rmtree(work)
    (tdir / "source").mkdir(parents=True)
    shutil.copytree(a.source, tdir / "source" / a.name,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    _write_config(tdir, cell_timeout, db_url=db_url)
    rc, output = nbgrader(["generate_assignment", a.name, "--force"], cwd=tdir,
                          log_path=tdir / "generate_assignment.log")
    if rc != 0:
        raise GraderError(f"nbgrader generate_assignment failed (see {tdir / 'generate_assignment.log'}):\n"
                          f"{output[-2000:]}")
    stamp.write_text(json.dumps({"fingerprint": fingerprint}))
    return fingerprint


def _write_config(course_dir, cell_timeout, skip=(), extra=None, db_url=None):
    pkg_src = Path(__file__).resolve().parent.parent
    skip_cells = [str(key) for key, _ in skip]
    skip_reasons = [str(why) for _, why in skip]
    (course_dir / "nbgrader_config.py").write_text(
        "# Written by `python -m autograder grade`: a private nbgrader course of this grading run.\n"
        "import sys\n"
        f"sys.path.insert(0, {str(pkg_src)!r})\n"
        "from autograder.nbconfig import configure\n"
        f"configure(get_config(), {str(course_dir)!r}, source='source', release='release', work='.', "
        f"db_url={db_url!r}, cell_timeout={int(cell_timeout)}, skip_cells={skip_cells!r}, "
        f"skip_reasons={skip_reasons!r})\n"
        + "".join(f"get_config().{key} = {value!r}\n" for key, value in (extra or {}).items())
    )


# A kernel that dies before it answers its first message never ran a line of the student's code:
# usually two kernels started at once and took the same port (jupyter_client picks free ports by
# binding and releasing them). Such a start is retried; a kernel that dies later is the notebook's.
KERNEL_START_FAILURES = ("Kernel died before replying to kernel_info", "Kernel didn't respond in")
KERNEL_START_ATTEMPTS = 3


def _grade_student(a, st, work, cell_timeout, wall_limit, fingerprint, iso, slot, nonce, worker, db_url=None):
    """Autograde one student in a private copy of the prepared course; return the row.

    The row, the feedback and the hashes that make it re-usable are saved in the student's folder
    (``result.json`` last, so that a run killed half-way leaves no half-result behind).
    """
    t0 = time.monotonic()
    sdir = work / "students" / st.id
    if sdir.exists():
        shutil.rmtree(sdir)
    shutil.copytree(work / "template", sdir, ignore=shutil.ignore_patterns("ready.json", "*.log"))
    logs = sdir / "logs"
    logs.mkdir()
    notes, fatal = [], None
    target_dir = sdir / "submitted" / st.id / a.name
    target_dir.mkdir(parents=True)
    for nb_name in a.notebooks:
        path, note = _pick_notebook(st, nb_name, single=len(a.notebooks) == 1)
        if note:
            notes.append(note)
        if path is None:
            fatal = f"no {nb_name}.ipynb in the submission"
            break
        try:
            nb = nbformat.reads(path.read_text(encoding="utf-8", errors="replace"), as_version=4)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is this student's problem
            fatal = f"{path.name} is not a valid notebook ({type(exc).__name__}: {str(exc)[:200]})"
            break
        nbformat.write(_normalise(nb, a.known_ids[nb_name], notes), target_dir / f"{nb_name}.ipynb")
    scores, flags = {}, None
    if fatal is None:
        env, config, runtime = iso.student(slot)
        try:
            fatal, scores, skipped = _autograde(a, st, sdir, cell_timeout, wall_limit, env, config, notes, iso,
                                                worker, db_url)
            if fatal is None:
                flags = _crosscheck(a, st, sdir, scores, skipped, iso, slot, runtime, nonce)
        finally:
            if runtime:
                shutil.rmtree(runtime, ignore_errors=True)
    row = {
        "student": st.id,
        "submitted_as": st.label,
        "assignment": a.name,
        "score": float(sum(scores.values())),
        "max_score": a.max_score,
        "status": "graded" if fatal is None else "ungraded",
        "reason": "; ".join(([fatal] if fatal else []) + notes),
        "sandbox": iso.label,
        "flagged": "n/a" if flags is None else ("yes" if flags else "no"),
        "flag_reason": "; ".join(flags or []),
        "seconds": 0.0,
        **{t.grade_id: scores.get(t.grade_id, 0.0) for t in a.tests},
    }
    _student_feedback(a, st.id, row, sdir)
    row["seconds"] = round(time.monotonic() - t0, 1)
    tmp = sdir / "result.json.tmp"
    tmp.write_text(json.dumps({"fingerprint": fingerprint, "digest": st.digest, "row": row,
                               "feedback": [f"{nb}.html" for nb in a.notebooks]}))
    tmp.replace(sdir / "result.json")
    return row


# A cell that kills the kernel (os._exit, a memory bomb, a loop the sandbox stops because it
# ignores interrupts) fails the whole notebook in nbgrader. The grader then runs it again without
# that cell (it scores zero), so every other cell is still graded; at most this many cells.
MAX_SKIPPED_CELLS = 3


def _autograde(a, st, sdir, cell_timeout, wall_limit, env, config, notes, iso, worker, db_url=None):
    """Run ``nbgrader autograde`` for one student, again without any cell that killed the kernel.

    Returns (the reason nothing could be graded, or None; the scores by grade id; the cells skipped).
    """
    skip, start_failures, attempt = [], 0, 0
    while True:
        attempt += 1
        progress = sdir / "logs" / f"progress-{attempt}.txt"
        _write_config(sdir, cell_timeout, skip, {**config, "BoundedExecute.progress_file": str(progress)}, db_url)
        rc, output = worker.run(sdir, a.name, st.id, env, sdir / "logs" / f"autograde-{attempt}.log", wall_limit)
        started, timed_out, labels = _read_progress(progress)
        if (rc != 0 and not started and any(sign in output for sign in KERNEL_START_FAILURES)
                and start_failures < KERNEL_START_ATTEMPTS - 1):
            start_failures += 1
            continue
        scores = _read_scores(db_url or f"sqlite:///{sdir / 'gradebook.db'}", a.name, st.id, a.tests)
        if rc == 0 and len(scores) == len(a.tests):
            notes += [f"cell {gid!r} was stopped after {cell_timeout} s"
                      for gid in _timeouts(sdir / "autograded" / st.id / a.name)]
            return None, scores, [key for key, _ in skip]
        culprit = _culprit(started, timed_out)
        stopped = rc is None or any(sign in output for sign in KERNEL_DEATHS)
        if culprit and stopped and culprit not in dict(skip) and len(skip) < MAX_SKIPPED_CELLS:
            why = _why_stopped(rc, output, wall_limit, iso)
            skip.append((culprit, why))
            notes.append(f"{labels.get(culprit, culprit)} was not graded: {why}; "
                         "the notebook was graded again without it")
            continue
        return _explain_failure(rc, output, wall_limit), {}, [key for key, _ in skip]


def _crosscheck(a, st, sdir, scores, skipped, iso, slot, runtime, nonce):
    """Flag reasons from the cross-check (an empty list: it agrees), or None where there is none."""
    from . import crosscheck

    if not crosscheck.available(a.name) or len(a.notebooks) != 1:
        return None
    nb_name = a.notebooks[0]
    submitted = nbformat.read(sdir / "submitted" / st.id / a.name / f"{nb_name}.ipynb", as_version=4)
    solution = nbformat.read(a.source / f"{nb_name}.ipynb", as_version=4)
    skip = {int(key.rpartition(":")[2]) for key in skipped if key.rpartition(":")[0] == nb_name}
    settings = iso.settings(slot, runtime) if iso.on else None
    try:
        reasons, _ = crosscheck.run(a.name, submitted, solution, scores, {t.grade_id: t.points for t in a.tests},
                                    crosscheck.seed_for(st.digest, nonce), sdir / "crosscheck", skip=skip,
                                    sandbox_settings=settings)
    except RuntimeError as exc:  # the reference itself failed: the course's problem, not the student's
        raise GraderError(str(exc)) from exc
    return reasons


KERNEL_DEATHS = ("DeadKernelError", "Kernel died", "kernel died")


def _why_stopped(rc, output, wall_limit, iso):
    if rc is None:
        return f"the notebook was still running after {wall_limit:.0f} s"
    if "ignored an interrupt" in output:
        return f"it kept running after the {iso.cell_timeout} s cell timeout and ignored the interrupt"
    if "memory limit" in output:
        return f"it used more than the {iso.memory_bytes >> 20} MB memory limit"
    if "process limit" in output:
        return "the Python kernel died after it started more processes than the limit allows"
    return "the Python kernel died while running it (for example os._exit, a crash or running out of memory)"


def _read_progress(path):
    """The code cells BoundedExecute started (in order), those that timed out, and their labels."""
    started, timed_out, labels = [], set(), {}
    lines = path.read_text().splitlines() if path.is_file() else []
    for line in lines:
        kind, _, rest = line.partition(" ")
        key, _, label = rest.partition("\t")
        if kind == "start":
            started.append(key)
            labels[key] = label or key
        elif kind == "timeout":
            timed_out.add(key)
    return started, timed_out, labels


def _culprit(started, timed_out):
    """The cell to blame for a dead or hung kernel: the last code cell started, unless the cells
    before it timed out, in which case the first of that run of timeouts (nbclient moves on after
    an interrupt that did nothing, so a hung kernel sees later cells time out too, and the one
    it dies in, or was killed in, is just the last of them)."""
    if not started:
        return None
    chain = started[:-1] if started[-1] not in timed_out and len(started) > 1 else started
    culprit = started[-1]
    for key in reversed(chain):
        if key not in timed_out:
            break
        culprit = key
    return culprit


def _student_feedback(a, sid, row, sdir):
    """Feedback pages of one student in ``sdir/feedback/``: nbgrader's, or a page giving the reason."""
    dest_dir = sdir / "feedback"
    dest_dir.mkdir(exist_ok=True)
    written = [sdir / "feedback" / sid / a.name / f"{nb}.html" for nb in a.notebooks]
    if row["status"] == "graded" and not all(p.is_file() for p in written):  # nbrun could not write them
        nbgrader(["generate_feedback", a.name, f"--student={sid}", "--force"], cwd=sdir,
                 log_path=sdir / "logs" / "generate_feedback.log")
    for nb_name in a.notebooks:
        src = sdir / "feedback" / sid / a.name / f"{nb_name}.html"
        dest = dest_dir / f"{nb_name}.html"
        if row["status"] == "graded" and src.is_file():
            shutil.copyfile(src, dest)
        else:
            reason = row["reason"] or "feedback could not be generated"
            if row["status"] == "graded":
                reason = f"graded, but nbgrader could not write feedback ({reason})"
            _fallback_feedback(dest, a.name, sid, row["score"], a.max_score, reason, a.tests,
                               {t.grade_id: row[t.grade_id] for t in a.tests})


def _collect_feedback(a, students, work, out):
    """``out/feedback/<student>/<notebook>.html`` for exactly the students of this input."""
    feedback_out = out / "feedback"
    if feedback_out.exists():
        shutil.rmtree(feedback_out)
    for st in students:
        for nb_name in a.notebooks:
            dest = feedback_out / st.id / f"{nb_name}.html"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / "students" / st.id / "feedback" / f"{nb_name}.html", dest)


def _write_reports(a, rows, out):
    fields = ["student", "submitted_as", "assignment", "score", "max_score", "status", "reason", "flagged",
              "flag_reason", "sandbox", "seconds",
              *[t.grade_id for t in a.tests]]
    with open(out / "grades.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    summary = []
    for t in a.tests:
        vals = [r[t.grade_id] for r in rows]
        full = sum(1 for v in vals if v >= t.points)
        summary.append({
            "test": t.grade_id, "notebook": t.notebook, "points": t.points, "submissions": len(vals),
            "mean_score": round(sum(vals) / len(vals), 3) if vals else 0.0,
            "full_marks": full, "pass_rate": round(full / len(vals), 3) if vals else 0.0,
        })
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]) if summary else ["test"])
        w.writeheader()
        w.writerows(summary)
    ungraded = sum(1 for r in rows if r["status"] != "graded")
    unsandboxed = sorted({r.get("sandbox", "") for r in rows if r.get("sandbox") != "on"})
    lines = [f"# {a.name}: {len(rows)} submissions, {ungraded} could not be graded", ""]
    if unsandboxed:
        lines += [f"**WARNING: {sum(1 for r in rows if r.get('sandbox') != 'on')} submission(s) were graded "
                  f"UNSANDBOXED** ({'; '.join(unsandboxed)}): their code could read and write what the "
                  "grading user can.", ""]
    flagged = [r for r in rows if r.get("flagged") == "yes"]
    checked = sum(1 for r in rows if r.get("flagged") in ("yes", "no"))
    if flagged:
        lines += [f"**{len(flagged)} submission(s) flagged by the cross-check** (nbgrader's score and a re-run of "
                  "the graded functions outside the grading kernel disagree; look at them before releasing grades):", ""]
        lines += [f"- {r['student']}: {r['flag_reason']}" for r in flagged] + [""]
    elif checked:
        lines += [f"Cross-check: {checked} submission(s) checked, none flagged.", ""]
    lines += ["| test | points | mean | full marks | pass rate |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {s['test']} | {s['points']:g} | {s['mean_score']:g} | {s['full_marks']} | {s['pass_rate']:.0%} |"
              for s in summary]
    totals = [r["score"] for r in rows]
    if totals:
        lines += ["", f"Total: mean {sum(totals) / len(totals):.2f} of {a.max_score:g}, "
                      f"{sum(1 for s in totals if s >= a.max_score)} with full marks."]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
