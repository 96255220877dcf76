"""The Ray executor on a local Ray instance gives exactly the local executor's results (the runs are deterministic on the CPU).

Two of the smoke sweep's twelve runs (cnn-s with each objective, seed 0) are compared: each run costs about a minute on
a 2-core CPU, and the executor is the same code for one run as for twelve."""
import json
import ray
from conftest import SMOKE_THREADS, metrics_files
from asymkd.sweep import run_sweep


def test_ray_executor_matches_local(smoke_sweep, tmp_path, monkeypatch):
    local_out, _, _ = smoke_sweep
    monkeypatch.chdir(tmp_path)  # a relative --out, as users type it: Ray workers run elsewhere
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try: results = run_sweep('smoke', 'ray-runs', seeds=[0], overrides={'student': 'cnn-s', 'threads': SMOKE_THREADS}, executor='ray', progress=False)
    finally: ray.shutdown()
    assert sorted(r.status for r in results) == ['done'] * 2, [(r.run_id, r.reason) for r in results]
    local = {f.parent.name: json.loads(f.read_text()) for f in metrics_files(local_out)}
    remote = {f.parent.name: json.loads(f.read_text()) for f in metrics_files(tmp_path/'ray-runs')}
    assert len(local) == 12 and sorted(remote) == sorted(k for k in local if k.startswith('cnn-s__') and '__seed0__' in k)
    for run_id, metrics in remote.items(): assert metrics == local[run_id], run_id
