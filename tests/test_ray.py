"The Ray executor on a local Ray instance gives exactly the local executor's results (the runs are deterministic on the CPU)."
import json
import ray
from conftest import metrics_files
from asymkd.sweep import run_sweep


def test_ray_executor_matches_local(smoke_sweep, tmp_path, monkeypatch):
    local_out, _, _ = smoke_sweep
    monkeypatch.chdir(tmp_path)  # a relative --out, as users type it: Ray workers run elsewhere
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try: results = run_sweep('smoke', 'ray-runs', executor='ray', progress=False)
    finally: ray.shutdown()
    assert sorted(r.status for r in results) == ['done'] * 12, [(r.run_id, r.reason) for r in results]
    local = {f.parent.name: json.loads(f.read_text()) for f in metrics_files(local_out)}
    remote = {f.parent.name: json.loads(f.read_text()) for f in metrics_files(tmp_path/'ray-runs')}
    assert sorted(remote) == sorted(local) and len(local) == 12
    for run_id, metrics in local.items(): assert remote[run_id] == metrics, run_id
