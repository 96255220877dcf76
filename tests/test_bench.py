"""`asymkd bench` from the command line: the rows asked for run, the JSON has the documented shape and the table is printed.

One cheap row: `nbs/12_bench.ipynb` runs every row at tiny size in-process and checks the evaluation's breakdown, the
targets and the grid estimate; what is left to test here is the command around `run_bench`. No timing is asserted."""
import json, math
import pytest
from conftest import run_cli

ROW_KEYS = {'name', 'naive_img_s', 'asymkd_img_s', 'ratio', 'seconds', 'fraction_of_peak'}


def _number(v): return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@pytest.fixture(scope='module')
def tiny_bench(tmp_path_factory):
    "`asymkd bench --size tiny --rows cosine-epoch` once (synthetic data, one thread: robust on a busy machine)."
    out = tmp_path_factory.mktemp('bench')/'bench.json'
    p = run_cli('bench', '--size', 'tiny', '--rows', 'cosine-epoch', '--data', 'synthetic', '--threads', '1', '--workers', '1',
                '--out', out, check=True, timeout=900)
    return json.loads(out.read_text()), p


def test_json_has_the_documented_shape(tiny_bench):
    res, _ = tiny_bench
    assert isinstance(res['device'], str) and res['device'].startswith(('cpu', 'cuda'))
    assert isinstance(res['torch'], str) and res['threads'] == 1
    assert set(res['peak_gflops']) == {'fp32', 'bf16'} and all(_number(v) and v > 0 for v in res['peak_gflops'].values())
    (r,) = res['rows']
    assert r['name'] == 'cosine-epoch' and ROW_KEYS <= set(r), r
    for k in ('naive_img_s', 'asymkd_img_s', 'ratio', 'seconds'): assert _number(r[k]) and r[k] > 0, k
    assert math.isclose(r['ratio'], r['asymkd_img_s'] / r['naive_img_s'], rel_tol=1e-9) and r['fraction_of_peak'] is None
    assert r['n_naive'] > 0 and r['n_asymkd'] > 0
    assert res['eval'] is None and res['grid'] is None and res['memory'] is None  # rows not asked for are not run
    assert len(res['targets']) == 6 and [t['met'] is None for t in res['targets']].count(False) == 1  # only the cosine epoch's is measured


def test_table_is_printed(tiny_bench):
    _, p = tiny_bench
    assert '\ncosine-epoch ' in p.stdout and '\ninfonce-epoch ' not in p.stdout
    assert 'matmul peak: fp32' in p.stdout and 'targets:' in p.stdout and '[not run]' in p.stdout and 'wrote ' in p.stdout


def test_bad_row_is_one_line_exit_2(tmp_path):
    p = run_cli('bench', '--size', 'tiny', '--rows', 'cosine', '--out', tmp_path/'b.json')
    assert p.returncode == 2 and "unknown bench row 'cosine'; valid: cache-build" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path/'b.json').exists()
