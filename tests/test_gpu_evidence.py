"scripts/gpu-evidence.sh at its tiny size on the CPU: the same path the GPU run takes, resumable, leaving report files."
import json, os, subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(out):
    env = dict(os.environ, SIZE='tiny', DEVICE='cpu', OMP_WAIT_POLICY='PASSIVE')
    return subprocess.run(['bash', str(REPO/'scripts'/'gpu-evidence.sh'), str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)


def test_gpu_evidence_tiny(tmp_path):
    out = tmp_path/'evidence'
    p = _run(out)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    runs = sorted(d for d in (out/'runs').iterdir() if d.is_dir())
    assert [d.name.split('__seed')[0] for d in runs] == ['paper-cnn-l__cosine__crop-flip', 'paper-cnn-l__cosine', 'paper-cnn-m__cosine', 'paper-cnn-s__cosine']
    for d in runs:
        m = json.loads((d/'metrics.json').read_text())
        assert m['paper']['batch_order'] and 'scaled_c' in m['paper']['student'] and m['mi']['bound'] == m['mi']['bound']
        assert json.loads((d/'config.json').read_text())['mi_batching'] == 'permuted'
    assert (out/'report.html').is_file() and (out/'tables'/'paper_rule.md').is_file()
    bench = json.loads((out/'bench.json').read_text())
    assert [r['name'] for r in bench['rows']] == ['cosine-epoch'] and bench['gpu_rows']
    again = _run(out)  # resumes: nothing is recomputed
    assert again.returncode == 0 and '0 run, 4 already done' in again.stdout + again.stderr, again.stdout[-2000:]


def test_gpu_evidence_refuses_a_missing_gpu_or_size(tmp_path):
    env = dict(os.environ, SIZE='huge', DEVICE='cpu')
    p = subprocess.run(['bash', str(REPO/'scripts'/'gpu-evidence.sh'), str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True)
    assert p.returncode == 2 and "SIZE must be 'full' or 'tiny'" in p.stderr
    env = dict(os.environ, SIZE='tiny', DEVICE='cuda', CUDA_VISIBLE_DEVICES='')
    p = subprocess.run(['bash', str(REPO/'scripts'/'gpu-evidence.sh'), str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True)
    assert p.returncode == 2 and 'no CUDA device here' in p.stderr
