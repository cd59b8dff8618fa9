"""Visible checks that teach: most known-wrong versions fail a visible check before they are submitted.

For every chapter, ``tests/visible_catch.py`` runs each known-wrong version of the fixture class
against the student copy's visible checks only (no hidden test). At least 90% of them must be
caught by at least one visible check; the figures are printed (``pytest -s``) and the misses named.
"""

import json
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = [pytest.mark.slow]

ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
SHARE = 0.90


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_visible_checks_catch_known_wrong_versions(assignment, tmp_path):
    out = tmp_path / "catch.json"
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "visible_catch.py"), assignment, "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    missed = sorted(name for name, failed in result["results"].items() if not failed)
    print(f"{assignment}: {result['caught']} of {result['total']} caught by a visible check; missed: {missed or 'none'}")
    assert result["total"] > 0
    assert result["caught"] / result["total"] >= SHARE, f"{assignment}: visible checks miss {missed}"
