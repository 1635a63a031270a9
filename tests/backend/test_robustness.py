"""The whole bad-input list of docs/robustness.md, run by scripts/robustness.py: it exits 1 on any traceback,
5xx answer, destroyed file or wrong exit code."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.sweep  # the whole bad-input list, through the CLI and the server


def test_every_bad_input_gets_a_clear_answer_and_destroys_nothing(shared_data):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "robustness.py")], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    assert "0 tracebacks, 0 answers 5xx, 0 files destroyed" in proc.stdout
