"""The ASGI entry point settles the loaded application's heap before serving."""

from __future__ import annotations

import json
import subprocess

from tests.support.server import PYTHON, ROOT, base_env

PROBE = """
import gc, json, sys
import project.asgi
views = sum(1 for name in sys.modules if name.endswith(".views"))
print(json.dumps({
    "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold(), "views": views,
    "young": project.asgi.YOUNG_GENERATION_THRESHOLD,
}))
"""


def test_start_up_freezes_the_loaded_application_and_widens_the_young_generation(tmp_path):
    result = subprocess.run(
        [PYTHON, "-c", PROBE], cwd=ROOT, env=base_env(tmp_path), capture_output=True,
        text=True, timeout=120, check=True,
    )  # fmt: skip
    state = json.loads(result.stdout.strip().splitlines()[-1])
    # (probed in a process of its own: importing the module here would freeze the suite's heap)
    assert state["threshold"][0] == state["young"] > 700
    assert state["frozen"] > 100_000  # Django, DRF, the apps and their views, not a handful
    assert state["views"] >= 5  # the URLconf's views were imported before the freeze
