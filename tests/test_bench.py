"`asymkd bench` at tiny size: every row runs and the JSON has the documented shape. No timing is asserted."
import json, math
import pytest
from conftest import run_cli

ROW_NAMES = ['cache-build', 'cache-build-bf16', 'cosine-epoch', 'infonce-epoch', 'fused-epoch', 'small-sweep', 'eval-run']
ROW_KEYS = {'name', 'naive_img_s', 'asymkd_img_s', 'ratio', 'seconds', 'fraction_of_peak'}


def _number(v): return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@pytest.fixture(scope='module')
def tiny_bench(tmp_path_factory):
    "`asymkd bench --size tiny` once (synthetic data, one thread: seconds, and robust on a busy machine)."
    out = tmp_path_factory.mktemp('bench')/'bench.json'
    p = run_cli('bench', '--size', 'tiny', '--data', 'synthetic', '--threads', '1', '--workers', '1', '--out', out, check=True, timeout=900)
    return json.loads(out.read_text()), p


def test_json_has_the_documented_shape(tiny_bench):
    res, _ = tiny_bench
    assert isinstance(res['device'], str) and res['device'].startswith(('cpu', 'cuda'))
    assert isinstance(res['torch'], str) and res['threads'] == 1
    assert set(res['peak_gflops']) == {'fp32', 'bf16'} and all(_number(v) and v > 0 for v in res['peak_gflops'].values())
    assert [r['name'] for r in res['rows']] == ROW_NAMES
    for r in res['rows']:
        assert ROW_KEYS <= set(r), r
        for k in ('naive_img_s', 'asymkd_img_s', 'ratio', 'seconds'): assert _number(r[k]) and r[k] > 0, (r['name'], k)
        assert math.isclose(r['ratio'], r['asymkd_img_s'] / r['naive_img_s'], rel_tol=1e-9)
        if r['name'].startswith('cache-build'): assert _number(r['fraction_of_peak']) and r['fraction_of_peak'] > 0
        else: assert r['fraction_of_peak'] is None
        assert r['n_naive'] > 0 and r['n_asymkd'] > 0


def test_eval_breakdown_memory_and_targets(tiny_bench):
    res, _ = tiny_bench
    ev = res['eval']
    assert ev['forwards_needed'] == ev['n_test'] * (1 + sum(s > 0 for s in ev['sigmas'])) + ev['n_probe']
    assert {'student forwards', 'probe fits', 'spectra', 'kNN', 'uniformity', 'MI', 'other'} <= set(ev['breakdown'])
    assert math.isclose(sum(ev['breakdown'].values()), ev['eval_seconds'], rel_tol=1e-6)
    assert _number(res['memory']['peak_rss_gib']) and res['memory']['peak_rss_gib'] > 0
    assert len(res['targets']) == 6 and all(t['met'] in (True, False) for t in res['targets'])


def test_table_is_printed(tiny_bench):
    _, p = tiny_bench
    for name in ROW_NAMES: assert f'\n{name} ' in p.stdout
    assert 'matmul peak: fp32' in p.stdout and 'breakdown:' in p.stdout and 'targets:' in p.stdout


def test_bad_row_is_one_line_exit_2(tmp_path):
    p = run_cli('bench', '--size', 'tiny', '--rows', 'cosine', '--out', tmp_path/'b.json')
    assert p.returncode == 2 and "unknown bench row 'cosine'; valid: cache-build" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path/'b.json').exists()


def test_grid_estimate_and_gpu_rows(tiny_bench):
    res, p = tiny_bench
    est = res['grid']['estimate']
    assert est['runs'] > 0 and 0 < est['seconds_low'] <= est['seconds_high'] and est['bound'] in est['parts']
    assert math.isclose(sum(est['parts'].values()), (est['seconds_low'] + est['seconds_high']) / 2, rel_tol=1e-6)
    if res['device'].startswith('cpu'): assert all(r['status'] == 'not measured (no GPU in this session)' for r in res['gpu_rows'])
    assert 'grid: the paper preset here' in p.stdout
