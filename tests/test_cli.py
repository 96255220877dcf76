"The command line: listing presets, and bad input rejected before any compute with one line and exit code 2."
import pytest
from conftest import run_cli


def test_presets_lists_every_preset_with_its_size():
    p = run_cli('presets', check=True)
    lines = {l.split()[0]: l for l in p.stdout.splitlines()}
    assert {'smoke', 'tiny', 'cifar10-local', 'paper-phase1', 'paper-phase2', 'ablation-arch', 'ablation-aug', 'paper'} <= set(lines)
    assert ' 12 runs' in lines['smoke'] and ' 18 runs' in lines['paper-phase1']
    assert {'paper1-exact', 'cifar10-local-paper', 'ablation-protocol', 'ablation-infonce'} <= set(lines)
    assert ' 10 runs' in lines['paper1-exact'] and ' 132 runs' in lines['ablation-protocol'] and ' 33 runs' in lines['ablation-infonce']


@pytest.mark.parametrize('args, message', [
    (['sweep', 'smok'], "unknown preset 'smok'; valid: ablation-arch"),
    (['sweep', 'tiny', '--set', 'epoch=3'], "unknown config key 'epoch'"),
    (['sweep', 'tiny', '--set', 'noise_sigmas=0,-0.1'], 'noise_sigmas must be >= 0'),
    (['sweep', 'tiny', '--set', 'epochs=0'], 'epochs must be > 0'),
    (['sweep', 'tiny', '--set', 'batch_size=100000'], 'batch_size 100000 is larger than'),
    (['sweep', 'tiny', '--set', 'temperature=0'], 'temperature must be > 0'),
    (['sweep', 'tiny', '--set', 'student=cnn-xl'], "unknown student 'cnn-xl'; valid:"),
    (['sweep', 'tiny', '--set', 'objective=mse'], "unknown objective 'mse'; valid: cosine, cosine+infonce"),
    (['sweep', 'tiny', '--set', 'teacher=clip'], "unknown teacher 'clip'"),
    (['sweep', 'tiny', '--set', 'dataset=imagenet'], "unknown dataset 'imagenet'"),
    (['sweep', 'tiny', '--executor', 'slurm'], "unknown executor 'slurm'"),
    (['sweep', 'tiny', '--set', 'protocol=papers'], "unknown protocol 'papers'; valid: asymkd, paper"),
    (['sweep', 'tiny', '--set', 'student=hybrid', 'student_input=teacher', 'teacher_input_size=224'], "student 'hybrid' is built for 32-px inputs"),
    (['sweep', 'tiny', '--seeds'], 'expected at least one argument'),
    (['sweep', 'tiny', '--jobs', '0'], 'jobs must be >= 1'),
    (['sweep', 'tiny', '--plugins', 'no_such_module_xyz'], "cannot import plugin 'no_such_module_xyz'"),
    (['sweep', 'tiny', '--set', 'tracker=tensorbord'], "unknown tracker 'tensorbord'; valid: none, tensorboard, mlflow, wandb"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    p = run_cli(*args, '--out', tmp_path/'out', cwd=tmp_path)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert message in p.stderr
    assert 'Traceback' not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path/'out').exists(), 'nothing may be written before validation passes'


def test_unknown_command_shows_usage():
    p = run_cli('swep')
    assert p.returncode == 2 and 'usage: asymkd' in p.stderr


def test_evaluate_without_finished_runs_is_one_line_exit_2(tmp_path):
    p = run_cli('evaluate', tmp_path/'empty')
    assert p.returncode == 2 and 'no finished runs in' in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_sweep_logs_each_run_to_tensorboard(tmp_path):
    "`--set tracker=tensorboard`: the papermill run writes events under the sweep, one tracker run per asymkd run, read back by TensorBoard."
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    import json
    p = run_cli('sweep', 'tiny', '--set', 'tracker=tensorboard', 'epochs=2', '--out', tmp_path/'sw', '--no_report', cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    run = next(d for d in (tmp_path/'sw').iterdir() if (d/'metrics.json').exists())
    m = json.loads((run/'metrics.json').read_text())
    ev = EventAccumulator(str(tmp_path/'sw'/'tracking'/'tensorboard'/run.name)); ev.Reload()
    assert [e.step for e in ev.Scalars('train/effective_rank')] == [h['step'] for h in m['history']]
    assert abs(ev.Scalars('final/student/probe_accuracy')[0].value - m['student']['probe_accuracy']) < 1e-6
