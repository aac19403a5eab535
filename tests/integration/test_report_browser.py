"""The run report in a real browser: it loads offline, draws, shows its figures, logs no console error.

Needs Debian's chromium (``apt-get install -y chromium``). Without it the test is skipped, loudly,
except when ``CI=true``: there a missing browser fails the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from acme_like.report import build_report

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "report"))
from record_files import realistic_calls, realistic_run, write_record  # noqa: E402

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


@pytest.fixture
def chromium():
    if not CHROMIUM.exists():
        reason = (f"{CHROMIUM} is missing, so the report was NOT checked in a browser; "
                  f"install it with `apt-get install -y chromium`")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


def run_chromium(chromium, tmp_path, *args):
    command = [str(chromium), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture
def page(tmp_path):
    calls = realistic_calls(40, failed=(7, 21))
    calls[21].update(exc_type="RuntimeError", message="<script>document.title='owned'</script>")
    return build_report(write_record(tmp_path / "run", calls, realistic_run(40, submitted=True, wall_s=12.0)))


def test_report_draws_in_a_browser(chromium, page, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "report.png"
    done = run_chromium(chromium, tmp_path, "--enable-logging=stderr", "--v=0", "--window-size=1400,2400",
                        f"--screenshot={shot}", page.as_uri())
    console = [line for line in done.stderr.splitlines() if "Uncaught" in line or ":CONSOLE" in line]
    assert not console, "the page logged console messages:\n" + "\n".join(console)
    pixels = imread(shot)
    assert pixels.shape[:2] == (2400, 1400)
    colours = np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 500, f"the screenshot has only {len(colours)} colours: is the page blank?"


def test_every_image_is_inline_and_no_script_ran(chromium, page, tmp_path):
    dom = run_chromium(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    sources = re.findall(r'<img [^>]*src="([^"]*)"', dom)
    assert len(sources) == 4
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    assert "<title>simulate · run report</title>" in dom
    assert "&lt;script&gt;document.title" in dom
