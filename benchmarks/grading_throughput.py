"""How fast `python -m autograder grade` grades a class: locally, on a Dask cluster, and against plain nbgrader.

Generates a class of chapter 1 submissions (70% correct, 20% known-wrong, 10% blank student
copies, the mix a real deadline sees), then grades it from scratch (`--force`) and prints
submissions per minute. Goals: issue 5, 100 numpy-chapter submissions in under 5 minutes on a
2-core machine; issue 16, Dask's overhead at most 10% and at least 60/min on this machine, at or
below plain nbgrader's cost per core while sandboxed and cross-checked.

    .venv/bin/python benchmarks/grading_throughput.py [--n 100] [--workers 1 2] [--timeout 30]
        [--parts local postgres dask nbgrader] [--dask-layout machine|slots] [--no-postgres]

Parts (all by default):
- local: `grade --workers W` for each W of `--workers`, SQLite gradebooks (the grader's default).
  Every run's template (`generate_assignment`, which `grade` keeps in `--out` and re-uses) is
  prepared before its clock starts, as `generate_assignment` is for the nbgrader baseline.
- postgres: the same with one shared PostgreSQL gradebook (`grade --db-url`) on a throw-away
  server that the script starts (Debian's postgresql; `--no-postgres` skips it).
- dask: for each W, a loopback `distributed.LocalCluster` of worker processes with W grading
  slots in all, graded through the CLI (`grade --scheduler ADDRESS`). `--dask-layout machine`
  (default) is one worker process with `--nthreads W --resources grade=W`, how one machine of a real
  cluster is started and the same shape as the local run (one process, one sandbox, W slots), so
  the difference is Dask's own cost: shipping the assignment, its prepared template and the
  submissions as bytes, the identity check, scheduling, the results coming back. `slots` is W worker
  processes with one slot each (more processes, a template each). The cluster's start is not
  timed (a real cluster is up before `grade`); the grades must equal the local run's.
- nbgrader: the baseline, plain `nbgrader autograde` of the same class in a throw-away course (the
  stock preprocessors: no sandbox, no cross-check, no feedback pages, one process, one kernel per
  notebook; the caller's environment, without the grader's one-BLAS-thread default);
  `nbgrader generate_feedback` is timed apart. Our figures per core are compared to it.

The last lines say where one local submission's time goes, from the files' birth and change
times in out/course/students/<id>/ (no timing code in the grader): hints, measured on whatever
else this machine was doing.
"""

import argparse
import csv
import inspect
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's submission builders (correct, known-wrong)

A, NB = "01_rnn_forward", "rnn_forward"
WRONG = [
    {"rnn_step_forward": [("x @ Wxh + h_prev @ Whh + bh", "x @ Wxh + bh")]},
    {"output_forward": [("h @ Why + by", "h @ Why")]},
    {"softmax": [("shifted = scores - scores.max(axis=-1, keepdims=True)", "shifted = scores")]},
]
PARTS = ("local", "postgres", "dask", "nbgrader")
WALL: dict[Path, tuple[float, float]] = {}  # out folder -> wall-clock start and end of its `grade` run
TIMING_COLUMNS = {"seconds"}  # grades.csv columns that differ between two runs of the same class


@dataclass
class Run:
    """One measured grading run."""
    label: str
    slots: int  # students graded at once
    cores: int  # cores it could use (for the per-core figures)
    seconds: float
    n: int
    flagged: str = ""
    sandbox: str = ""
    note: str = ""

    @property
    def per_minute(self) -> float:
        return self.n / self.seconds * 60

    @property
    def per_minute_per_core(self) -> float:
        return self.per_minute / self.cores

    @property
    def slot_seconds(self) -> float:
        """Seconds of one grading slot each submission costs (the run's wall time times its slots)."""
        return self.seconds * self.slots / self.n


def make_class(folder: Path, n: int):
    import submissions as subs

    correct = subs.correct_submission(A, NB)
    blank = (ROOT / "exercises" / A / f"{NB}.ipynb").read_text()
    for i in range(n):
        path = folder / f"student_{i:03d}" / f"{NB}.ipynb"
        kind = i % 10
        if kind == 9:
            subs.raw(blank, path)
        elif kind in (7, 8):
            subs.write(subs.correct_submission(A, NB, WRONG[i % len(WRONG)]), path)
        else:
            subs.write(correct, path)


def env():
    from autograder.grader.processes import tool_env

    e = tool_env()
    e.pop("AUTOGRADER_SCHEDULER", None)  # a local run is local, whatever the caller's shell says
    return e


def grade(folder: Path, out: Path, workers: int, timeout: int, db_url=None, scheduler=None):
    """Grade ``folder`` through the CLI; return (seconds, grades.csv rows, sandbox on/OFF)."""
    t0, wall0 = time.monotonic(), time.time()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", A, str(folder), "--out", str(out),
                           "--workers", str(workers), "--timeout", str(timeout), "--force",
                           *(["--db-url", db_url] if db_url else []),
                           *(["--scheduler", scheduler] if scheduler else [])],
                          cwd=ROOT, env=env(), capture_output=True, text=True)
    seconds = time.monotonic() - t0
    WALL[out] = (wall0, time.time())
    if proc.returncode != 0:
        raise SystemExit(f"grading failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    sandbox = "on" if all(r["sandbox"].startswith("on (") for r in rows) else "OFF"
    return seconds, rows, sandbox


def prepare_beforehand(out: Path, timeout: int, db_url=None) -> float:
    """Prepare ``out``'s template as ``grade`` would (it re-uses it); return the seconds it took."""
    from autograder.grader.assignment import load_assignment
    from autograder.grader.workspace import prepare_template

    t0 = time.monotonic()
    prepare_template(load_assignment(A), out / "course", timeout, db_url)
    return time.monotonic() - t0


def comparable(rows):
    """grades.csv rows by student, without the timing columns: what two runs must agree on."""
    return {r["student"]: {k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows}


# ------------------------------------------------------------------ Dask


def dask_missing() -> str | None:
    """Why the Dask path cannot run here (None when it can)."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        return f"distributed is not installed ({exc}; pip install -r requirements.txt)"
    try:
        import autograder.grader.cluster  # noqa: F401
    except ImportError as exc:
        return f"the grader has no cluster package ({exc})"
    from autograder.grader.run import grade as api_grade

    if "scheduler" not in inspect.signature(api_grade).parameters:
        return "grader.grade() takes no scheduler"
    helptext = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], cwd=ROOT, env=env(),
                              capture_output=True, text=True).stdout
    if "--scheduler" not in helptext:
        return "`python -m autograder grade` has no --scheduler option"
    return None


def loopback_cluster(slots: int, layout: str, directory: Path):
    """A LocalCluster of worker processes on 127.0.0.1 with ``slots`` grading slots in all."""
    from distributed import LocalCluster

    os.environ.update(env())  # the workers' PATH finds the venv's tools, as the CLI's does
    directory.mkdir(parents=True, exist_ok=True)
    n_workers, per_worker = (1, slots) if layout == "machine" else (slots, 1)
    return LocalCluster(n_workers=n_workers, threads_per_worker=per_worker, resources={"grade": per_worker},
                        processes=True, host="127.0.0.1", dashboard_address=":0", local_directory=str(directory))


# ------------------------------------------------------------------ plain nbgrader


NBGRADER_CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "bench"
c.ClearSolutions.code_stub = {{"python": "# IMPLEMENT-ME\\nraise NotImplementedError()"}}
c.ClearSolutions.text_stub = "IMPLEMENT-ME: write your answer here."
c.Execute.timeout = {timeout}
"""


def stock_env():
    """The environment plain nbgrader runs in: the caller's, without the grader's own defaults
    (``processes.ONE_BLAS_THREAD``, where the caller's shell does not set it)."""
    from autograder.grader.processes import ONE_BLAS_THREAD

    e = env()
    for key in ONE_BLAS_THREAD:
        if key not in os.environ:
            e.pop(key, None)
    return e


def nbgrader(args_, course: Path, timeout=None):
    """Run ``python -m nbgrader ARGS`` in ``course``; return its seconds (exit on failure)."""
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args_], cwd=course, env=stock_env(),
                          capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"nbgrader {' '.join(args_)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds


def nbgrader_baseline(folder: Path, course: Path, timeout: int):
    """Plain nbgrader on the class: (autograde seconds, generate_feedback seconds, setup seconds, scores by student)."""
    from nbgrader.api import Gradebook

    (course / "source").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / A, course / "source" / A,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(course), timeout=timeout))
    setup = nbgrader(["generate_assignment", A, "--force"], course)
    for sdir in sorted(p for p in folder.iterdir() if p.is_dir()):
        dest = course / "submitted" / sdir.name / A
        dest.mkdir(parents=True)
        for nb in sdir.glob("*.ipynb"):
            shutil.copy(nb, dest / nb.name)
    autograde = nbgrader(["autograde", A], course)
    feedback = nbgrader(["generate_feedback", A], course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "bench") as gb:
        scores = {s.id: gb.find_submission(A, s.id).score for s in gb.students}
    return autograde, feedback, setup, scores


# ------------------------------------------------------------------ where one submission's time goes


def stat_times(paths: list[Path]) -> dict[Path, tuple[float, float]]:
    """(birth, change) times of ``paths`` (GNU stat: Python 3.11 has no birth time on Linux)."""
    out = subprocess.run(["stat", "--printf", "%.9W %.9Y\n", *map(str, paths)], capture_output=True, text=True)
    times = {}
    for path, line in zip(paths, out.stdout.splitlines()):
        birth, change = (float(x) for x in line.split())
        times[path] = (birth or change, change)
    return times


PHASES = [
    ("copy template, place notebook", "start", "job sent"),
    ("nbgrader autograde starts (API, gradebook student, copy)", "job sent", "autograde folder"),
    ("kernel start (sandbox, launcher, ipykernel)", "autograde folder", "first cell"),
    ("cells run + grades saved", "first cell", "autograded notebook"),
    ("nbgrader feedback", "autograded notebook", "nbgrader feedback"),
    ("cross-check", "nbgrader feedback", "cross-check report"),
    ("feedback page, result.json", "cross-check report", "end"),
]


def breakdown(out: Path) -> dict[str, list[float]]:
    """Seconds per phase of each graded student of a local run (first attempt only)."""
    phases: dict[str, list[float]] = {name: [] for name, _, _ in PHASES}
    for sdir in sorted((out / "course" / "students").iterdir()):
        sid = sdir.name
        marks = {"start": sdir, "job sent": sdir / "logs" / "autograde-1.log",
                 "autograde folder": sdir / "autograded" / sid,
                 "first cell": sdir / "logs" / "progress-1.txt",
                 "autograded notebook": sdir / "autograded" / sid / A / f"{NB}.ipynb",
                 "nbgrader feedback": sdir / "feedback" / sid / A / f"{NB}.html",
                 "cross-check report": sdir / "crosscheck" / "report.txt", "end": sdir / "result.json"}
        if not all(p.exists() for p in marks.values()) or (sdir / "logs" / "autograde-2.log").exists():
            continue  # ungraded, not cross-checked or retried: not the common path
        times = stat_times(list(marks.values()))
        when = {k: times[p][0] for k, p in marks.items()}  # births...
        for k in ("autograded notebook", "nbgrader feedback", "cross-check report", "end"):
            when[k] = times[marks[k]][1]  # ...except for files written once at the end of a phase
        for name, a, b in PHASES:
            phases[name].append(when[b] - when[a])
    return phases


def fixed_costs(out: Path) -> tuple[float, float]:
    """Seconds of a run before its first student started and after its last one was saved."""
    sdirs = sorted((out / "course" / "students").iterdir())
    times = stat_times(sdirs + [s / "result.json" for s in sdirs])
    start, end = WALL[out]
    return (min(times[s][0] for s in sdirs) - start, end - max(times[s / "result.json"][1] for s in sdirs))


# ------------------------------------------------------------------ main


def main():
    from autograder.grader.processes import cpu_count

    cores = cpu_count()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="submissions in the class (default 100)")
    parser.add_argument("--workers", type=int, nargs="+", default=sorted({1, cores}),
                        help=f"worker counts (grading slots) to measure (default: 1 and {cores})")
    parser.add_argument("--timeout", type=int, default=30, help="cell timeout in seconds (default 30)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="what to measure (default: all)")
    parser.add_argument("--dask-layout", choices=("machine", "slots"), default="machine",
                        help="machine: one worker process with W slots (default); slots: W processes with 1 slot")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL part")
    args = parser.parse_args()
    parts = [p for p in args.parts if not (p == "postgres" and args.no_postgres)]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        folder = Path(tmp) / "class"
        make_class(folder, args.n)
        print(f"chapter 1 ({A}), {args.n} submissions, {cores} cores")
        print(f"{'run':>22}  {'slots':>5}  {'seconds':>8}  {'per minute':>10}  {'/min/core':>9}  {'flagged':>7}  sandbox")

        def record(run: Run):
            runs.append(run)
            print(f"{run.label:>22}  {run.slots:>5}  {run.seconds:>8.1f}  {run.per_minute:>10.1f}  "
                  f"{run.per_minute_per_core:>9.1f}  {run.flagged:>7}  {run.sandbox}{run.note}", flush=True)

        local_rows = {}

        def measure(label, workers, db_url=None, scheduler=None, note=""):
            out = Path(tmp) / f"out-{label.split()[0]}-{workers}"
            # The template (nbgrader generate_assignment, once per assignment and settings, kept in --out)
            # is prepared before the clock starts, as generate_assignment is for the nbgrader baseline.
            setup = prepare_beforehand(out, args.timeout, db_url)
            note = f"  (template {setup:.1f} s before, not counted){note}"
            seconds, rows, sandbox = grade(folder, out, workers, args.timeout, db_url, scheduler)
            assert len(rows) == args.n, f"{len(rows)} rows for {args.n} submissions"
            flagged = sum(1 for r in rows if r["flagged"] == "yes")
            if label == "local":
                local_rows[workers] = comparable(rows)
            elif workers in local_rows:
                same = comparable(rows) == local_rows[workers]
                note += "; grades as local" if same else "; GRADES DIFFER FROM THE LOCAL RUN"
            record(Run(label, workers, min(workers, cores), seconds, args.n, str(flagged), sandbox, note))
            return out

        outs = {}
        if "local" in parts:
            for w in args.workers:
                outs[w] = measure("local", w)
        if "postgres" in parts:
            import pgserver

            try:
                with pgserver.temporary_server(port=54331) as url:
                    for w in args.workers:
                        measure("local PostgreSQL", w, db_url=url)
            except pgserver.Unavailable as exc:
                print(f"PostgreSQL: not measured ({exc})")
        if "dask" in parts:
            missing = dask_missing()
            if missing:
                print(f"Dask path not available: {missing}")
            for w in args.workers if not missing else []:
                t0 = time.monotonic()
                with loopback_cluster(w, args.dask_layout, Path(tmp) / f"dask-{w}") as cluster:
                    started = time.monotonic() - t0
                    measure(f"Dask ({args.dask_layout})", w, scheduler=cluster.scheduler_address,
                            note=f"; cluster start {started:.1f} s, not counted")
        if "nbgrader" in parts:
            autograde, feedback, setup, scores = nbgrader_baseline(folder, Path(tmp) / "nbgrader-course",
                                                                   args.timeout)
            assert len(scores) == args.n, f"nbgrader graded {len(scores)} of {args.n}"
            ours = next(iter(local_rows.values()), None)
            agree = (f"; scores as ours {sum(float(ours[s]['score']) == v for s, v in scores.items())}/{args.n}"
                     if ours else "")
            record(Run("plain nbgrader", 1, 1, autograde, args.n, "-", "OFF",
                       f"  (autograde only{agree}; generate_assignment {setup:.1f} s not counted)"))
            record(Run("nbgrader + feedback", 1, 1, autograde + feedback, args.n, "-", "OFF",
                       f"  (generate_feedback {feedback:.1f} s)"))
        summarize(runs, [r for r in runs if r.label.startswith(("plain nbgrader", "nbgrader +"))])
        if outs:
            w = min(outs)
            print(f"\nwhere one local submission's time goes ({w} worker(s); median seconds over the students "
                  "graded in one attempt; from file times, on this machine as loaded as it was):")
            for name, values in breakdown(outs[w]).items():
                if values:
                    print(f"  {name:<58} {statistics.median(values):6.2f}")
            first, last = fixed_costs(outs[w])
            print(f"  once per run: {first:.2f} s before the first student (start, intake, template check, sandbox "
                  f"probe, workers), {last:.2f} s after the last (reports)")


def summarize(runs: list[Run], bases: list[Run]):
    """Dask against local at the same slots; ours per core against plain nbgrader."""
    local = {r.slots: r for r in runs if r.label == "local"}
    for d in (r for r in runs if r.label.startswith("Dask")):
        loc = local.get(d.slots)
        if loc is None:
            continue
        extra = d.slot_seconds - loc.slot_seconds
        print(f"\nDask, {d.slots} slot(s): {d.per_minute:.1f}/min against {loc.per_minute:.1f}/min locally; "
              f"overhead {(d.seconds / loc.seconds - 1) * 100:+.1f}% (goal <= 10%), "
              f"{(d.seconds - loc.seconds) / d.n:+.2f} s of wall time and {extra:+.2f} slot-seconds per submission "
              f"(fixed costs spread over {d.n})")
        print(f"  estimate for a cluster of S slots (cores like these, one per slot): about "
              f"S x {60 / d.slot_seconds:.1f} submissions per minute ({d.slot_seconds:.2f} slot-seconds each)")
    for r in local.values():
        for base in bases:
            print(f"local, {r.slots} worker(s) on {r.cores} core(s): {r.per_minute_per_core:.1f}/min per core against "
                  f"{base.label}'s {base.per_minute_per_core:.1f}/min: our cost per core "
                  f"{base.per_minute_per_core / r.per_minute_per_core:.2f}x ({base.label}; goal <= 1.00)")


if __name__ == "__main__":
    main()
