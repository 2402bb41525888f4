"""The notebook example (examples/notebook_forecast.py and its .ipynb) runs
against ``dtbase serve --demo``.

``python3 python/tests/test_notebook.py`` rewrites the .ipynb from the .py
after the script is edited; the test fails while the two differ.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCRIPT = REPO / "examples" / "notebook_forecast.py"
NOTEBOOK = SCRIPT.with_suffix(".ipynb")
sys.path.insert(0, str(HERE))
from conftest import PASSWORD  # noqa: E402


def cells_of(script: Path):
    """The cells of a ``# %%`` script: (kind, source) pairs."""
    cells, kind, lines = [], None, []

    def close():
        text = "\n".join(lines).strip("\n")
        if kind is not None and text:
            cells.append((kind, text))

    for line in script.read_text().splitlines():
        if line.startswith("# %%"):
            close()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind is not None:
            lines.append(line)
    close()
    return cells


def notebook_json(script: Path) -> str:
    cells = []
    for kind, text in cells_of(script):
        cell = {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{i}"
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


@pytest.fixture(scope="module")
def demo(start_server):
    pytest.importorskip("statsmodels")
    pytest.importorskip("matplotlib")
    return start_server(args=["--demo"])


@pytest.fixture
def demo_env(demo, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DT_")}
    env.update(DT_BACKEND_URL=demo.url, DT_DEFAULT_USER_PASS=PASSWORD, MPLBACKEND="Agg",
               PYDEVD_DISABLE_FILE_VALIDATION="1",  # the kernel's debugger warns about frozen modules
               PYTHONPATH=os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")]),
               FORECAST_PNG=str(tmp_path / "forecast.png"))
    return env


def test_notebook_matches_script():
    assert NOTEBOOK.read_text() == notebook_json(SCRIPT), "run python3 python/tests/test_notebook.py"


def test_script_runs(demo_env, tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPT)], env=demo_env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "Mean temperature" in out.stdout  # the skill metrics of the stored run
    assert (tmp_path / "forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_notebook_executes(demo_env, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    for k, v in demo_env.items():
        monkeypatch.setenv(k, v)
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Mean temperature" in text and "plot written to" in text
    assert (tmp_path / "forecast.png").exists()


if __name__ == "__main__":
    NOTEBOOK.write_text(notebook_json(SCRIPT))
    print("wrote", NOTEBOOK)
