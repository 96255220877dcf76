"The package works outside the repository: its notebooks, presets and published numbers are package data."
import subprocess, sys, zipfile
from pathlib import Path
from conftest import REPO


def test_wheel_ships_notebooks_presets_and_published_numbers(tmp_path):
    p = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(tmp_path), str(REPO)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    (wheel,) = tmp_path.glob('asymkd-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ('asymkd/resources/notebooks/distill.ipynb', 'asymkd/resources/notebooks/report.ipynb',
              'asymkd/resources/presets/smoke.json', 'asymkd/resources/published.csv', 'asymkd/sweep.py'):
        assert f in names, f
    nb = zipfile.ZipFile(wheel).read('asymkd/resources/notebooks/distill.ipynb')
    assert b'"parameters"' in nb, 'the experiment notebook itself, not a link, is in the wheel'
