"""Check the optional trackers end to end: a tiny run logged to each installed one, read back with the tracker's own reader.

    python scripts/check-trackers.py            # every installed tracker among tensorboard, mlflow, wandb
Prints one line per tracker; exits 1 when one fails. (TensorBoard is also tested in nbs/08_experiment.ipynb.)
"""
import importlib.util, json, sys, tempfile, warnings
from pathlib import Path
from asymkd.experiment import Config, run_experiment
from asymkd.teachers import TeacherCache

def read_tensorboard(folder, run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ev = EventAccumulator(str(folder/'tensorboard'/run)); ev.Reload()
    return {t: ev.Scalars(t)[-1].value for t in ev.Tags()['scalars']}

def read_mlflow(folder, run):
    import mlflow
    import os
    client = mlflow.MlflowClient(tracking_uri=os.environ.get('MLFLOW_TRACKING_URI') or f"sqlite:///{(folder/'mlflow').resolve()}/mlflow.db")
    r = client.search_runs([client.get_experiment_by_name(folder.parent.name).experiment_id])[0]
    assert r.info.run_name == run and r.data.params['student'] == 'cnn-s'
    return {k.replace('.', '/'): v for k, v in r.data.metrics.items()}

def read_wandb(folder, run):
    "wandb >= 0.2x has no Python reader for offline runs: look for each key and its JSON value in the run's record file."
    data = next((folder/'wandb').glob('wandb/offline-run-*/run-*.wandb')).read_bytes()
    return RecordBytes(data)

class RecordBytes(dict):
    "`got[k]` is `v` when the record file holds the key `k` and the JSON of `v`: enough to show the numbers were logged."
    def __init__(self, data): super().__init__(); self.data = data
    def check(self, k, v): return k.encode() in self.data and json.dumps(v).encode() in self.data

READERS = dict(tensorboard=read_tensorboard, mlflow=read_mlflow, wandb=read_wandb)

def check(name, tmp, cache):
    sweep = tmp/f'{name}-sweep'
    m = run_experiment(Config(train_subset=500, test_subset=300, noise_subset=200, probe_subset=300, epochs=1, tracker=name),
                       sweep/'run', cache=cache, progress=False)
    got = READERS[name](sweep/'tracking', 'run')
    want = {'final/student/probe_accuracy': m['student']['probe_accuracy'], 'final/cka': m['cka']}
    if isinstance(got, RecordBytes): return {k: v for k, v in want.items() if not got.check(k, v)}
    bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) is None or abs(got[k] - v) > 1e-5}
    return bad

if __name__ == '__main__':
    tmp = Path(tempfile.mkdtemp()); cache = TeacherCache(tmp/'cache'); failed = 0
    for name in READERS:
        if importlib.util.find_spec(name if name != 'mlflow' else 'mlflow') is None: print(f'{name}: not installed'); continue
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always'); bad = check(name, tmp, cache)
        tracker_warnings = [str(x.message) for x in w if 'tracker' in str(x.message)]
        ok = not bad and not tracker_warnings
        failed += not ok
        print(f"{name}: {'ok' if ok else 'FAILED'}" + (f' {bad}' if bad else '') + (f' {tracker_warnings}' if tracker_warnings else ''))
    sys.exit(1 if failed else 0)
