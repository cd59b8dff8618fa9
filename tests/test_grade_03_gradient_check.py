"""Chapter 3 (numerical gradient checking) graded end to end through `python -m autograder grade`.

The known-wrong checkers include the two classic ones: a checker that does not restore the
parameter it perturbs, and a one-sided difference.
"""

import html
import json

import pytest
from classes import KERNEL_CHEATS, Chapter, standard_tests

pytestmark = [pytest.mark.slow]

NUM, RESTORE, REL, CHECK = ("test_numerical_gradient", "test_numerical_gradient_restores", "test_relative_error",
                            "test_gradient_check")

# The instructor's numerical_gradient loop, replaced whole by known-right variants.
NUMGRAD_BODY = ("    grad = np.zeros(x.shape, dtype=np.float64)\n"
                "    for idx in np.ndindex(x.shape):\n"
                "        old = x[idx]\n"
                "        try:\n"
                "            x[idx] = old + eps\n"
                "            f_plus = f()\n"
                "            x[idx] = old - eps\n"
                "            f_minus = f()\n"
                "        finally:\n"
                "            x[idx] = old\n"
                "        grad[idx] = (f_plus - f_minus) / (2 * eps)\n")

CH = Chapter(
    assignment="03_gradient_check",
    notebook="gradient_check",
    points={NUM: 2, RESTORE: 1, REL: 1, CHECK: 3},
    mutants={
        "one_sided_difference": (
            {"numerical_gradient": [("x[idx] = old - eps\n            f_minus = f()", "x[idx] = old\n            f_minus = f()"),
                                    ("grad[idx] = (f_plus - f_minus) / (2 * eps)", "grad[idx] = (f_plus - f_minus) / eps")]},
            {NUM, CHECK},
        ),
        "never_restores_the_parameter": (
            {"numerical_gradient": [("finally:\n            x[idx] = old", "finally:\n            pass")]},
            {NUM, RESTORE, CHECK},
        ),
        "no_restore_when_f_raises": (
            {"numerical_gradient": [("        try:\n", "        if True:\n"),
                                    ("        finally:\n            x[idx] = old", "        x[idx] = old")]},
            {RESTORE},
        ),
        "relative_error_without_floor": (
            {"relative_error": [("np.maximum(1e-8, np.abs(a) + np.abs(b))", "(np.abs(a) + np.abs(b))")]},
            {REL},
        ),
        "relative_error_mean_not_max": (
            {"relative_error": [("result = float(np.max(err))", "result = float(np.mean(err))")]},
            {REL},
        ),
        "check_reports_the_wrong_index": (
            {"gradient_check": [("np.argmax(errs)", "np.argmin(errs)")]},
            {CHECK},
        ),
        "check_ignores_the_tolerance": (
            {"gradient_check": [("ok = error < tol", "ok = error < 1.0")]},
            {CHECK},
        ),
        "check_verdict_from_the_last_parameter_only": (
            {"gradient_check": [('report["passed"] = report["passed"] and ok', 'report["passed"] = ok')]},
            {CHECK},
        ),
        # The defaults written into the body: right with the defaults, wrong as soon as eps or tol is given.
        "check_hard_codes_eps_and_tol": (
            {"gradient_check": [("num = numerical_gradient(f, x, eps)", "num = numerical_gradient(f, x, 1e-5)"),
                                ("ok = error < tol", "ok = error < 1e-6")]},
            {CHECK},
        ),
        "check_ignores_eps": (
            {"gradient_check": [("num = numerical_gradient(f, x, eps)", "num = numerical_gradient(f, x)")]},
            {CHECK},
        ),
        "check_ignores_a_given_tolerance": (
            {"gradient_check": [("ok = error < tol", "ok = error < 1e-6")]},
            {CHECK},
        ),
        "check_reports_a_flat_index": (
            {"gradient_check": [("index = tuple(int(i) for i in np.unravel_index(np.argmax(errs), errs.shape))",
                                 "index = int(np.argmax(errs))"),
                                ("error = float(errs[index])", "error = float(errs.flat[index])")]},
            {CHECK},
        ),
        "numerical_gradient_ignores_eps": (
            {"numerical_gradient": [("grad = np.zeros(x.shape, dtype=np.float64)",
                                     "grad = np.zeros(x.shape, dtype=np.float64)\n    eps = 1e-5")]},
            {NUM, CHECK},
        ),
        # Catches f's exception (restoring x) and returns nan: the caller never learns that f failed.
        "swallows_the_exception_of_f": (
            {"numerical_gradient": [("        finally:\n            x[idx] = old",
                                     "        except Exception:\n            f_plus = f_minus = np.nan\n"
                                     "        finally:\n            x[idx] = old")]},
            {RESTORE},
        ),
        # Undoes the steps by arithmetic: old + eps - 2 eps + eps is not always old in float64.
        "restores_by_arithmetic": (
            {"numerical_gradient": [("            x[idx] = old + eps\n", "            x[idx] += eps\n"),
                                    ("            x[idx] = old - eps\n", "            x[idx] -= 2 * eps\n"),
                                    ("        finally:\n            x[idx] = old", "        finally:\n            x[idx] += eps")]},
            {RESTORE, CHECK},
        ),
    },
    right={
        # Entry by entry through x.flat, the gradient reshaped at the end.
        "numerical_gradient_over_flat_entries": {"numerical_gradient": [(
            NUMGRAD_BODY,
            "    flat = np.zeros(x.size)\n"
            "    for i in range(x.size):\n"
            "        old = x.flat[i]\n"
            "        try:\n"
            "            x.flat[i] = old + eps\n"
            "            up = f()\n"
            "            x.flat[i] = old - eps\n"
            "            down = f()\n"
            "        finally:\n"
            "            x.flat[i] = old\n"
            "        flat[i] = (up - down) / (2 * eps)\n"
            "    grad = flat.reshape(x.shape)\n")]},
        # A helper that evaluates f at one changed entry and restores it after every call.
        "numerical_gradient_restores_after_every_call": {"numerical_gradient": [
            ("def numerical_gradient(f, x, eps=1e-5):",
             "def f_with(f, x, idx, value):\n"
             "    old = x[idx]\n"
             "    x[idx] = value\n"
             "    try:\n"
             "        return f()\n"
             "    finally:\n"
             "        x[idx] = old\n\n\n"
             "def numerical_gradient(f, x, eps=1e-5):"),
            ("        old = x[idx]\n"
             "        try:\n"
             "            x[idx] = old + eps\n"
             "            f_plus = f()\n"
             "            x[idx] = old - eps\n"
             "            f_minus = f()\n"
             "        finally:\n"
             "            x[idx] = old\n",
             "        f_plus = f_with(f, x, idx, x[idx] + eps)\n"
             "        f_minus = f_with(f, x, idx, x[idx] - eps)\n")]},
        # np.max over a flattened list of Python floats.
        "relative_error_over_a_flat_list": {"relative_error": [
            ("    err = np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))\n    result = float(np.max(err))",
             "    err = [abs(p - q) / max(1e-8, abs(p) + abs(q)) for p, q in zip(a.ravel(), b.ravel())]\n"
             "    result = np.max(err)")]},
        # numpy scalars in the report: np.bool_ verdicts, an index of np.intp, the error a np.float64;
        # the parameter's errors from the student's own relative_error, entry by entry.
        "check_with_numpy_scalars": {"gradient_check": [
            ("        errs = np.abs(ana - num) / np.maximum(1e-8, np.abs(ana) + np.abs(num))\n"
             "        index = tuple(int(i) for i in np.unravel_index(np.argmax(errs), errs.shape))\n"
             "        error = float(errs[index])\n"
             "        ok = error < tol\n",
             "        errs = np.zeros(x.shape)\n"
             "        for idx in np.ndindex(x.shape):\n"
             "            errs[idx] = relative_error(ana[idx], num[idx])\n"
             "        index = np.unravel_index(np.argmax(errs), errs.shape)\n"
             "        error = errs.max()\n"
             "        ok = errs.max() < tol\n"),
            ('        report["passed"] = report["passed"] and ok\n', ""),
            ("    return report", '    report["passed"] = np.all([r["passed"] for r in report["params"].values()])\n    return report')]},
    },
    cheats=KERNEL_CHEATS,
)


globals().update(standard_tests(CH))


# The summary at the top of a feedback page names every part with its points and, where points were
# lost, the first line of why; MathJax is inlined, not loaded from a CDN (grader/feedback.py).
WRONG = "one_sided_difference"


def check_feedback_summary(out, student, lost):
    page = (out / "feedback" / student / f"{CH.notebook}.html").read_text()
    assert "Test cell" not in page and "cdnjs" not in page and 'id="MathJax-script"' in page
    toc = page[page.index('<div id="toc">'):]
    items = toc[:toc.index("</div>")].split("<li")[1:]
    messages = json.loads((out / "course" / "students" / student / "result.json").read_text())["messages"]
    assert set(messages) == set(lost) and len(items) == len(CH.points)
    for gid, points in CH.points.items():
        item = next(li for li in items if f'href="#{gid}"' in li)
        assert f"{gid.removeprefix('test_')} (visible checks)</a>" in item
        assert f">{0 if gid in lost else points} / {points}<" in item
        if gid in lost:
            assert messages[gid].startswith("AssertionError: ") and html.escape(messages[gid]) in item


def test_feedback_summary_names_every_part_with_points_and_why(graded):
    check_feedback_summary(graded[0], WRONG, CH.mutants[WRONG][1])


@pytest.mark.browser
def test_feedback_page_renders_its_equations_with_no_network(graded):
    """The page alone, opened from disk in an offline Chromium that refuses every request that is not
    the file itself: every equation typeset by the inlined MathJax (SVG), none left as raw TeX."""
    import chromium
    from playwright.sync_api import sync_playwright

    page_path = graded[0] / "feedback" / WRONG / f"{CH.notebook}.html"
    requests, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium.executable(), args=chromium.LAUNCH_ARGS)
        try:
            page = browser.new_context(offline=True).new_page()
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                       else (requests.append(route.request.url), route.abort()))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60000)
            page.evaluate("MathJax.startup.promise")
            typeset = page.evaluate("document.querySelectorAll('mjx-container svg').length")
            math_errors = page.evaluate("document.querySelectorAll('[data-mjx-error], mjx-merror').length")
            raw = page.evaluate(r"(document.querySelector('#notebook') || document.body).innerText"
                                r".match(/\$[^$\n]{1,40}\$/g)")
        finally:
            browser.close()
    assert requests == [] and errors == [], (requests, errors)
    assert typeset > 0 and math_errors == 0 and not raw, (typeset, math_errors, raw)  # no raw $...$ left
