"End to end: the smoke sweep and its report, resume after a kill, failures that do not stop a sweep, papermill's own CLI."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import REPO, ASYMKD, SMOKE_ARGS, run_cli, metrics_files


def test_smoke_sweep_runs_every_config_and_reports(smoke_sweep):
    out, report, p = smoke_sweep
    files = metrics_files(out)
    assert len(files) == 12, p.stdout + p.stderr
    runs = [json.loads(f.read_text()) for f in files]
    assert {r['run_id'].split('__')[0] for r in runs} == {'cnn-s', 'cnn-m', 'cnn-l'}
    for r in runs:
        assert r['student']['n'] == 500 and r['student']['d'] == r['teacher']['embed_dim']
        assert 1 <= r['student']['effective_rank'] <= r['student']['feature_dim']
        assert set(r['student']['noise_accuracy']) == {'0.0', '0.05', '0.1', '0.15', '0.2', '0.3'}
    assert (out/files[0].parent.name/'run.ipynb').exists() and (out/files[0].parent.name/'timings.json').exists()
    assert 'sweep smoke: 12 run, 0 already done, 0 failed' in p.stdout


def test_report_has_tables_and_figures(smoke_sweep):
    out, report, _ = smoke_sweep
    assert (report/'report.html').stat().st_size > 50_000
    table1 = (report/'tables'/'table1_cosine.md').read_text()
    for student in ('cnn-s', 'cnn-m', 'cnn-l'): assert f'| {student} |' in table1
    assert '2/2' in table1 and ' ± ' in table1 and '| protocol |' in table1
    assert 'timm:resnet10t' in (report/'tables'/'table1_cosine_teacher.md').read_text()
    assert (report/'tables'/'table2_infonce.csv').exists()
    figures = {p.name for p in (report/'figures').glob('*.png')}
    assert {'fig1_alignment_cosine.png', 'fig2_information.png', 'fig3_noise_cosine.png', 'spectra.png', 'dynamics.png'} <= figures
    html = (report/'report.html').read_text(); assert "Welch's t-test" in html and 'detectable at 80 % power' in html


def test_rerun_skips_done_runs(smoke_sweep):
    out, report, _ = smoke_sweep
    before = {f: f.stat().st_mtime_ns for f in metrics_files(out)}
    p = run_cli('sweep', 'smoke', *SMOKE_ARGS, '--out', out, '--no_report', check=True)
    assert 'sweep smoke: 0 run, 12 already done, 0 failed' in p.stdout
    assert before == {f: f.stat().st_mtime_ns for f in metrics_files(out)}


def _tiny(out, *extra, **kw):
    return run_cli('sweep', 'tiny', '--out', out, '--no_report', *extra, **kw)


def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    ref = tmp_path/'ref'; _tiny(ref, check=True)
    (ref_metrics,) = metrics_files(ref)
    out = tmp_path/'killed'
    proc = subprocess.Popen([*ASYMKD, 'sweep', 'tiny', '--out', str(out), '--no_report', '--set', 'epochs=2'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not list(out.glob('*/checkpoint.pt')) and time.time() < deadline: time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL); proc.wait()
    assert list(out.glob('*/checkpoint.pt')), 'the run never reached its first checkpoint'
    assert not metrics_files(out), 'killed after epoch 1 of 2: no metrics.json yet'
    assert not list(out.glob('*/.*.tmp')) or True  # a stray temporary file is allowed; a partial metrics.json is not
    p = _tiny(out, check=True)  # the stale lock of the killed sweep is recovered
    assert '1 run, 0 already done' in p.stdout
    (m,) = metrics_files(out)
    assert m.read_bytes() == ref_metrics.read_bytes()


def test_failed_run_is_reported_and_the_sweep_goes_on(tmp_path):
    p = run_cli('sweep', 'tiny', '--out', tmp_path/'out', '--report_dir', tmp_path/'report', '--seeds', '0', '1', '--set', 'lr=1e30', 'precision=fp32')
    assert p.returncode == 1, p.stdout + p.stderr
    assert 'runs failed' in p.stderr and 'loss became' in p.stderr
    errors = list((tmp_path/'out').glob('*/error.json'))
    assert len(errors) == 2 and not metrics_files(tmp_path/'out')
    assert '2 failed' in (tmp_path/'report'/'report.html').read_text()  # the report marks the cells, it does not drop them


def test_papermill_cli_runs_the_experiment_notebook(tmp_path):
    pm = Path(sys.executable).parent/'papermill'
    p = subprocess.run([str(pm), str(REPO/'nbs'/'experiments'/'distill.ipynb'), str(tmp_path/'out.ipynb'),
                        '-p', 'student', 'cnn-s', '-p', 'seed', '7', '-p', 'out_dir', str(tmp_path/'run'), '-p', 'progress', 'False'],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())
    assert cfg['seed'] == 7 and cfg['student'] == 'cnn-s' and cfg['train_subset'] == 256  # the rest from the `tiny` preset
    assert json.loads((tmp_path/'run'/'metrics.json').read_text())['run_id'].endswith(cfg['config_hash'])
    # run_experiment calls the same step functions the notebook shows one by one: the same config, the same bytes
    code = ("import sys; from asymkd.experiment import RunFolder, run_experiment; "
            "run_experiment(RunFolder(sys.argv[1]).config(), sys.argv[2], progress=False)")
    subprocess.run([sys.executable, '-c', code, str(tmp_path/'run'), str(tmp_path/'again')], check=True, timeout=600)
    assert (tmp_path/'again'/'metrics.json').read_bytes() == (tmp_path/'run'/'metrics.json').read_bytes()


def test_experiment_notebook_parameters_are_config_defaults():
    from dataclasses import asdict
    from asymkd.experiment import Config
    nb = json.loads((REPO/'nbs'/'experiments'/'distill.ipynb').read_text())
    (cell,) = [c for c in nb['cells'] if 'parameters' in c['metadata'].get('tags', [])]
    params = {}
    exec(''.join(cell['source']), params)
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items() if not k.startswith('__')}
    assert {k: params.pop(k) for k in ('preset', 'out_dir', 'progress')} == {'preset': 'tiny', 'out_dir': None, 'progress': True}
    assert params == asdict(Config())


def test_same_bytes_from_two_empty_caches_and_after_a_rebuild_with_the_warning_in_the_sweep_output(tmp_path):
    "A random-init teacher is seeded: two empty caches give the same metrics, and so does an entry rebuilt after corruption."
    first = _tiny(tmp_path/'a1', env=dict(ASYMKD_CACHE=tmp_path/'cache-a'), check=True)
    _tiny(tmp_path/'b1', env=dict(ASYMKD_CACHE=tmp_path/'cache-b'), check=True)
    (ref,), (other,) = metrics_files(tmp_path/'a1'), metrics_files(tmp_path/'b1')
    assert ref.read_bytes() == other.read_bytes()
    assert 'raised warnings' not in first.stderr
    entry = next((tmp_path/'cache-a'/'teachers').glob('*.safetensors'))
    entry.write_bytes(entry.read_bytes()[:-7])  # truncated: its checksum no longer matches
    p = _tiny(tmp_path/'a2', env=dict(ASYMKD_CACHE=tmp_path/'cache-a'), check=True)
    assert 'runs raised warnings:' in p.stderr and 'cannot be trusted' in p.stderr, p.stderr
    (run,) = (tmp_path/'a2').glob('*/warnings.json')
    assert any('cannot be trusted' in w for w in json.loads(run.read_text()))
    (rebuilt,) = metrics_files(tmp_path/'a2')
    assert rebuilt.read_bytes() == ref.read_bytes()


def test_tiny_under_the_papers_protocol_records_both_reevaluates_and_retrains_to_the_same_bytes(tmp_path):
    p = _tiny(tmp_path/'out', '--set', 'protocol=paper', 'student=paper-cnn-s', check=True)
    (m,) = metrics_files(tmp_path/'out')
    metrics, config = json.loads(m.read_text()), json.loads((m.parent/'config.json').read_text())
    assert (config['protocol'], config['optimizer'], config['student_input'], config['noise_space']) == ('paper', 'adam', 'teacher', 'input')
    assert {'singular_values', 'effective_rank', 'dims_90', 'probe_accuracy', 'noise_accuracy', 'mi', 'uniformity'} <= set(metrics['paper']['student'])
    assert {'effective_rank', 'probe_accuracy', 'noise_accuracy'} <= set(metrics['student'])
    before = m.read_bytes()
    e = run_cli('evaluate', tmp_path/'out', '--no_progress', check=True)
    assert '1 runs re-evaluated (0 trained again, 0 failed), 0 with changed metrics' in e.stdout, e.stdout
    assert m.read_bytes() == before
    (m.parent/'checkpoint.pt').unlink()  # as in a clone of committed runs
    refused = run_cli('evaluate', tmp_path/'out', '--no_progress')
    assert refused.returncode == 2 and '1 of 1 finished runs have no checkpoint' in refused.stderr and '--retrain' in refused.stderr, refused.stderr
    assert m.read_bytes() == before
    cfg = m.parent/'config.json'; good = cfg.read_text()
    cfg.write_text(json.dumps({**json.loads(good), 'device': 'cuda:7'}))  # not in the config hash: same folder, a run that fails
    broken = run_cli('evaluate', tmp_path/'out', '--retrain', '--no_progress')
    assert broken.returncode == 1 and '1 failed' in broken.stdout and 'failed: ' in broken.stderr, broken.stdout + broken.stderr
    assert m.read_bytes() == before  # the failed retrain put the old metrics back
    cfg.write_text(good)
    r = run_cli('evaluate', tmp_path/'out', '--retrain', '--no_progress', check=True)
    assert '1 trained again, 0 failed), 0 with changed metrics' in r.stdout and 'trained again; probe ' in r.stdout, r.stdout
    assert m.read_bytes() == before and (m.parent/'checkpoint.pt').exists()
    assert not (m.parent/'metrics.before-retrain.json').exists()



def test_broken_dataset_fails_its_runs_naming_the_file(tmp_path):
    from PIL import Image
    root = tmp_path/'folder'
    for split in ('train', 'test'):
        for cls in ('ant', 'bee'):
            d = root/split/cls; d.mkdir(parents=True)
            for i in range(4): Image.new('RGB', (32, 32), (40 * i, 0, 0)).save(d/f'{i:04d}.png')
    (root/'train'/'bee'/'0002.png').write_bytes(b'not a png')
    p = run_cli('sweep', 'tiny', '--out', tmp_path/'out', '--no_report', '--set', f'dataset=imagefolder:{root}', 'batch_size=4')
    assert p.returncode == 1, p.stdout + p.stderr
    assert "cannot decode image" in p.stderr and 'bee/0002.png' in p.stderr
    assert not metrics_files(tmp_path/'out')


def test_plugins_register_a_student_teacher_objective_and_dataset_used_in_the_sweep_kernels(tmp_path):
    plugin = tmp_path/'my_plugin.py'
    plugin.write_text(
        "import torch, torch.nn as nn\n"
        "from asymkd.students import register_student\nfrom asymkd.teachers import Teacher, register_teacher\n"
        "from asymkd.losses import register_objective, cosine_distill_loss\nfrom asymkd.data import register_dataset\n"
        "@register_student('mlp-plugin')\n"
        "def mlp(embed_dim=512):\n"
        "    m = nn.Sequential(nn.Flatten(), nn.Linear(3*32*32, 64), nn.ReLU(), nn.Linear(64, embed_dim))\n"
        "    m.feature_dim = 64\n    return m\n"
        "@register_teacher('plug-teacher')\n"
        "def plug_teacher(pretrained=True, checkpoint=None, device='cpu', input_size=None, seed=None):\n"
        "    torch.manual_seed(0 if seed is None else seed)\n"
        "    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())\n"
        "    return Teacher(model, 'plug-teacher', 64, input_size or (32, 32), 'bilinear', (0.5,) * 3, (0.5,) * 3, f'plug-seed{seed}')\n"
        "@register_objective('cosine-mse')\n"
        "def cosine_mse(z_s, z_t, **kw):\n"
        "    cos, mse = cosine_distill_loss(z_s, z_t), (z_s - z_t).pow(2).mean()\n"
        "    return cos + mse, {'cosine': cos.detach(), 'mse': mse.detach()}\n"
        "@register_dataset('plug-blobs', forms=('plug-blobs:<n>',))\n"
        "def plug_blobs(arg, split, root=None):\n"
        "    n = int(arg or 300)\n"
        "    g = torch.Generator().manual_seed(0 if split == 'train' else 1)\n"
        "    labels = torch.arange(n) % 2\n"
        "    return (torch.rand(n, 3, 32, 32, generator=g) * 100 + 120 * labels[:, None, None, None]).to(torch.uint8), labels, ['dark', 'bright']\n")
    # a relative --out with two runs at once: each papermill run changes the process's working folder
    p = run_cli('sweep', 'tiny', '--out', 'out', '--no_report', '--plugins', plugin.name, '--seeds', '0', '1', '--jobs', '2',
                '--set', 'threads=1', 'student=mlp-plugin', 'teacher=plug-teacher', 'objective=cosine-mse', 'dataset=plug-blobs:300', cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    files = metrics_files(tmp_path/'out')
    assert len(files) == 2
    for m in files:
        metrics = json.loads(m.read_text())
        assert metrics['student']['feature_dim'] == 64 and metrics['teacher']['spec'] == 'plug-teacher'
        assert 'mse' in metrics['history'][0] and metrics['n_train'] == 256
        assert m.parent.name.startswith('mlp-plugin__cosine-mse__')
