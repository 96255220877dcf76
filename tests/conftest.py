"Shared fixtures: one smoke sweep for the whole session, and helpers to run the `asymkd` command."
import json, os, subprocess, sys
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
ASYMKD = [sys.executable, '-c', 'from asymkd.cli import main; main()']


def run_cli(*args, cwd=None, timeout=1200, check=False, env=None):
    "Run `asymkd ARGS...` in a subprocess (extra environment variables in `env`); return the CompletedProcess (text output)."
    p = subprocess.run([*ASYMKD, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       env=None if env is None else {**os.environ, **{k: str(v) for k, v in env.items()}})
    if check and p.returncode != 0: raise AssertionError(f"asymkd {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


SMOKE_THREADS = 1  # two one-thread runs at once fill a 2-core CPU better than one two-thread run (x1.38 wall, AVX-512)
SMOKE_ARGS = ('--set', f'threads={SMOKE_THREADS}', '--jobs', '2')


@pytest.fixture(scope='session')
def smoke_sweep(tmp_path_factory):
    "The `smoke` preset run once through the CLI, two runs at a time, with its report: (sweep folder, report folder, process)."
    root = tmp_path_factory.mktemp('smoke')
    out, report = root/'runs', root/'report'
    p = run_cli('sweep', 'smoke', *SMOKE_ARGS, '--out', out, '--report_dir', report, cwd=root, check=True)
    return out, report, p


def metrics_files(out):
    return sorted(Path(out).glob('*/metrics.json'))
