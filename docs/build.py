"""Build the asymkd documentation site offline from the notebooks: `python docs/build.py` writes `_docs/`.

No Quarto: each notebook goes through nbdev's own docs processors (`nbdev.processors.FilterDefaults`: `#| export`,
`#| hide`, ... honoured, `show_doc` cells added after every exported definition, backticked names linked), is
executed the way `nbdev_test` executes it (cells flagged with settings.ini's `tst_flags`, i.e. `#| slow`, and
`#| eval: false` are not run; `IN_TEST=1`), and is rendered to HTML with nbconvert and the template in
`docs/templates/asymkd/` (a sidebar, MathJax served from the site, no CDN). The experiment notebook is rendered
unexecuted (executing it is a full distillation run). The guides in `nbs/guides/` (protocols, reports, speed, faults,
scale-out, notebooks: markdown, rendered unexecuted unless they hold code) are pages too; their relative links to other
notebooks and to `reports/<name>/README.md` (which work on GitHub) are pointed at the site's own pages. The executed
sweep reports in `reports/*/` are copied in.

    python docs/build.py                       # the whole site into _docs/
    python docs/build.py --only index 05_spectral guides/speed --out /tmp/site   # a subset (tests/test_docs.py builds one)
"""
from __future__ import annotations
import argparse, functools, html, json, os, re, shutil, sys, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NBS, REPORTS, TEMPLATES = REPO/'nbs', REPO/'reports', REPO/'docs'/'templates'
GUIDES = ['protocols', 'reports', 'speed', 'faults', 'scale_out', 'notebooks']   # sidebar order; other nbs/guides/*.ipynb follow, sorted
UNEXECUTED = {'experiments/distill': 'This notebook is shown **unexecuted**: executing it is one full distillation run '
              '(the sweep runs it with papermill, one copy per run, as `runs/<preset>/<run-id>/run.ipynb`). '
              'Run it yourself with `papermill nbs/experiments/distill.ipynb out.ipynb -p student cnn-s -p seed 7`.'}


def _title(nb_path: Path) -> str:
    "The notebook's title: the first markdown `# heading`, else its file name."
    for c in json.loads(nb_path.read_text(encoding='utf-8'))['cells']:
        if c['cell_type'] == 'markdown':
            m = re.search(r'^#\s+(.+)$', ''.join(c['source']), flags=re.M)
            if m: return m.group(1).strip()
    return nb_path.stem


def _page_name(rel: str) -> str:
    "nbdev's page name for a notebook: `05_spectral` -> `spectral.html` (what the docs links in _modidx.py point at)."
    parts = rel.split('/')
    parts[-1] = re.sub(r'^\d+[a-zA-Z0-9]*_', '', parts[-1])
    return '/'.join(parts) + '.html'


def _has_code(nb_path: Path) -> bool:
    "Whether the notebook has a non-empty code cell (a markdown-only guide is rendered without starting a kernel)."
    return any(c['cell_type'] == 'code' and ''.join(c['source']).strip()
               for c in json.loads(nb_path.read_text(encoding='utf-8'))['cells'])


def _guides() -> list[Path]:
    "The guide notebooks in `nbs/guides/`, in sidebar order."
    found = {p.stem: p for p in (NBS/'guides').glob('*.ipynb') if not p.name.startswith(('_', '.'))}
    return [found[g] for g in GUIDES if g in found] + [found[g] for g in sorted(set(found) - set(GUIDES))]


def _section(rel: str) -> str:
    if rel == 'index': return 'Home'
    if rel.startswith('guides/'): return 'Guides'
    if rel.startswith('experiments/'): return 'Experiment'
    return 'Modules'


def pages(only=None) -> list[dict]:
    "Every notebook page of the site, in sidebar order: the index, the guides, the module notebooks, the experiment notebook."
    nbs = [NBS/'index.ipynb', *_guides(), *sorted(NBS.glob('[0-9][0-9]_*.ipynb')), NBS/'experiments'/'distill.ipynb']
    res = []
    for p in nbs:
        rel = p.relative_to(NBS).with_suffix('').as_posix()
        section = _section(rel)
        execute = rel not in UNEXECUTED and (section != 'Guides' or _has_code(p))
        res.append(dict(src=str(p), rel=rel, page=_page_name(rel), title=_title(p), section=section,
                        execute=execute, build=only is None or rel in only or p.stem in only
                                                 or (section == 'Guides' and 'guides' in only)))
    if only:   # `--only guides` builds every guide
        unknown = set(only) - {q['rel'] for q in res} - {Path(q['rel']).name for q in res} - {'guides'}
        if unknown: sys.exit(f"unknown page(s) {sorted(unknown)}; valid: {[q['rel'] for q in res]}")
    return res


# show_doc as nbdev renders it, plus the docments table of the parameters (nbdev 2.4 only puts them in the
# signature as comments) and a plain-HTML "source" link (nbdev writes pandoc's `{target=...}`, which only Quarto reads).
_RENDERER = r"""
import re as _re
import nbdev.showdoc as _sd
from fastcore.docments import DocmentTbl as _DocmentTbl, MarkdownRenderer as _MarkdownRenderer
class _AsymkdDocsRenderer(_sd.BasicMarkdownRenderer):
    def _repr_markdown_(self):
        doc = '---\n\n'
        src = _sd.NbdevLookup().code(self.fn)
        if src: doc += f'<a href="{src}" target="_blank" style="float:right; font-size:smaller">source</a>\n\n'
        doc += '#'*self.title_level + f' {self.nm}\n\n'
        try: tbl = _DocmentTbl(self.sym)._repr_markdown_()
        except Exception: tbl = ''
        body = _MarkdownRenderer._repr_markdown_(self)
        if tbl: body = _re.sub(r'(?m)^(\s+[^#\n]*?),?\s*#[^\n]*$', lambda m: m.group(1).rstrip(',') + ',', body)
        return doc + body + ('\n\n' + tbl if tbl else '')
_sd.BasicMarkdownRenderer = _AsymkdDocsRenderer
"""


# ---- one notebook: nbdev's processors, executed like nbdev_test (runs in a fresh worker process) ----
def process_notebook(src: str, execute: bool) -> tuple[str, float]:
    "Run nbdev's docs processors on `src`, executing its cells as `nbdev_test` would; return (notebook JSON, seconds)."
    from fastcore.basics import str2bool
    from execnb.nbio import read_nb, nb2str
    from execnb.shell import CaptureShell
    from nbdev.config import get_config
    from nbdev.process import NBProcessor
    from nbdev import processors as P

    skip_flags = set(get_config().get('tst_flags', '').split())

    class exec_cells(P.exec_show_docs):
        "Execute every code cell nbdev_test would (not `tst_flags` cells, not `eval: false`); show_doc cells too."
        def begin(self):
            fm = getattr(self.nb, 'frontmatter_', {})
            if not execute or str2bool(fm.get('skip_exec', False)) or P.nb_lang(self.nb) != 'python': return
            self.k = CaptureShell(src)
            self.k.run_cell('from nbdev.showdoc import show_doc')
            self.k.run_cell(_RENDERER)
            if self.k.exc: raise RuntimeError(f'could not set up the show_doc renderer: {self.k.exc!r}')
        def __call__(self, cell):
            if not hasattr(self, 'k') or cell.cell_type != 'code' or not cell.source: return
            if 'nbdev_export' + '(' in cell.source: return
            d = getattr(cell, 'directives_', {}) or {}
            if d.get('eval:', [''])[0].lower() == 'false': return
            if skip_flags & d.keys():
                cell.metadata['asymkd_docs_skipped'] = ' '.join(sorted(skip_flags & d.keys())); return
            self.k.cell(cell)
            if getattr(cell, 'has_sd', False) and not any('text/markdown' in o.get('data', {}) for o in cell.outputs):
                raise RuntimeError(f"{src}: `{cell.source}` rendered no documentation: {cell.outputs}")
            if self.k.exc:
                raise RuntimeError(f"{src}: cell {cell.idx_} failed while building the docs:\n{cell.source}\n"
                                   f"{self.k.prettytb(fname=src)}") from None

    procs = [exec_cells if p is P.exec_show_docs else p for p in P.FilterDefaults().procs()
             if p not in (P.insert_warning, P.add_fold)]
    if not execute: procs = [p for p in procs if p is not P.add_show_docs]
    os.environ['IN_TEST'] = '1'
    os.environ.setdefault('MPLBACKEND', 'agg')
    start = time.time()
    cwd = os.getcwd(); os.chdir(Path(src).parent)
    try:
        nb = read_nb(src)
        proc = NBProcessor(nb=nb, procs=procs)
        proc.process()
        fm = getattr(proc.nb, 'frontmatter_', {}) or {}
        proc.nb.metadata['asymkd_docs'] = dict(title=fm.get('title', ''), description=fm.get('description', ''))
        return nb2str(proc.nb), time.time() - start
    finally: os.chdir(cwd)


# ---- rendering ----
_DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')

_MD_LINK = re.compile(r'(\]\()([^)\s#]+)(#[^)\s]*)?(\))')
_IMAGE = ('.png', '.jpg', '.jpeg', '.gif', '.svg')

def site_links(md: str, src, page: str, page_of: dict, reports=()) -> str:
    """Point a markdown cell's relative links (written to work on GitHub) at the site: a notebook's link goes to its
    page, `reports/<name>/README.md` to that report's reading page, another file under a copied report to its copy,
    any other file in the repository to the repository's web page; absolute URLs and anchors are left as they are."""
    from nbdev.config import get_config
    cfg = get_config()
    up = '../' * page.count('/')
    def fix(m):
        target = m.group(2)
        if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', target) or target.startswith('/'): return m.group(0)
        path = (Path(src).parent/target).resolve()
        try: rel = path.relative_to(REPO).as_posix()
        except ValueError: return m.group(0)
        r = re.fullmatch(r'reports/([^/]+)/(.+)', rel)
        if rel in page_of: new = up + page_of[rel]
        elif r and r[1] in reports and r[2] == 'README.md': new = f'{up}reports/{r[1]}/index.html'
        elif r and r[1] in reports and not rel.endswith('.ipynb') and path.exists(): new = up + rel
        elif rel.lower().endswith(_IMAGE): return m.group(0)
        else: new = f"{cfg.git_url.rstrip('/')}/blob/{cfg.branch}/{rel}"
        return m.group(1) + new + (m.group(3) or '') + m.group(4)
    return _MD_LINK.sub(fix, md)


def _for_display(nbjson: str, note: str | None, links=None):
    """The processed notebook as nbformat, with the quarto directives nbdev leaves (`echo: false`, ...) applied and
    removed; `links` (a function of a markdown cell's text) rewrites its links for the site."""
    import nbformat
    nb = nbformat.reads(nbjson, as_version=4)
    meta = nb.metadata.pop('asymkd_docs', {}) or {}
    cells = []
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.lstrip().startswith('---'): continue   # nbdev's frontmatter, shown in the header
        if c.cell_type == 'code':
            lines, dirs = c.source.splitlines(), {}
            while lines and _DIRECTIVE.match(lines[0]):
                k, v = _DIRECTIVE.match(lines.pop(0)).groups(); dirs[k] = v.lower()
            if dirs.get('include') == 'false': continue
            if dirs.get('output') == 'false': c.outputs = []
            if dirs.get('echo') == 'false': c.metadata.setdefault('transient', {})['remove_source'] = True
            skipped = c.metadata.pop('asymkd_docs_skipped', None)
            if skipped: lines.insert(0, f'# not run when the docs are built (a {skipped} cell)')
            c.source = '\n'.join(lines)
            if not c.source.strip() and not c.outputs: continue
        if c.cell_type == 'markdown' and links: c.source = links(c.source)
        cells.append(c)
    head = f"# {meta['title']}\n\n" if meta.get('title') else ''
    if meta.get('description'): head += f"> {meta['description']}\n"
    if note: head += f'\n<div class="asymkd-note">\n\n{note}\n\n</div>\n'
    if head: cells.insert(0, nbformat.v4.new_markdown_cell(head))
    nb.cells = cells
    if meta.get('title'): nb.metadata['title'] = meta['title']
    return nb


def _nav(all_pages, reports, current: str) -> str:
    "The sidebar, with links relative to the page `current` (a path inside the site)."
    up = '../' * current.count('/')
    def a(href, text):
        cls = ' class="current"' if href == current else ''
        return f'<li><a href="{up}{href}"{cls}>{html.escape(text)}</a></li>'
    out = [f'<nav class="asymkd-nav"><a class="site-title" href="{up}index.html">asymkd</a>']
    for section in ('Home', 'Guides', 'Modules', 'Experiment'):
        items = [p for p in all_pages if p['section'] == section]
        out += [f'<h4>{section}</h4><ul>'] + [a(p['page'], p['rel'] + ': ' + p['title'] if section == 'Modules'
                                               else p['title']) for p in items] + ['</ul>']
    out += ['<h4>Reports</h4><ul>', a('reports.html', 'All reports')]
    out += [a(f'reports/{r}/report.html', f'{r} (executed)') for r in reports] + ['</ul></nav>']
    return '\n'.join(out)


def _exporter():
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    ex = HTMLExporter(template_name='asymkd', extra_template_basedirs=[str(TEMPLATES)],
                      exclude_input_prompt=True, exclude_output_prompt=True)
    ex.register_preprocessor(TagRemovePreprocessor(remove_input_tags={'remove_input', 'hide-input'},
                                                   remove_cell_tags={'remove_cell'}), enabled=True)
    return ex


def _link_fix(body: str, page: str) -> str:
    "nbdev's doc links point at doc_host/doc_baseurl (the Quarto site); point them at this site instead."
    from nbdev.config import get_config
    cfg = get_config()
    base = cfg.doc_host.rstrip('/') + '/' + cfg.doc_baseurl.strip('/') + '/'
    return body.replace(base, '../' * page.count('/'))


def render(ex, nb, page: str, title: str, nav: str, out: Path):
    body, _ = ex.from_notebook_node(nb, resources=dict(metadata=dict(name=title), site_nav=nav,
                                                       site_root='../' * page.count('/')))
    dest = out/page; dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(_link_fix(body, page), encoding='utf-8')


def _md_page(text: str):
    import nbformat
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])


def build(out: Path, only=None, workers: int = 1) -> dict:
    "Build the site into `out`; return {page: seconds to process it}."
    t0 = time.time()
    out = Path(out).resolve()
    os.chdir(REPO)   # nbdev reads settings.ini from here
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    all_pages = pages(only)
    reports = sorted(p.parent.name for p in REPORTS.glob('*/report.html'))
    todo = [p for p in all_pages if p['build']]
    page_of = {Path(p['src']).relative_to(REPO).as_posix(): p['page'] for p in all_pages}
    results, timings, failed = {}, {}, {}
    ctx = get_context('spawn')   # a fresh interpreter per notebook, as nbdev_test has
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx, max_tasks_per_child=1) as pool:
        futs = {pool.submit(process_notebook, p['src'], p['execute']): p for p in todo}
        for f in as_completed(futs):
            p = futs[f]
            try: results[p['rel']], timings[p['rel']] = f.result()
            except Exception as e:   # keep going: the page says so, and the build exits 1 at the end
                failed[p['rel']] = re.sub(r'\x1b\[[0-9;]*m', '', str(e))
                print(f"  {p['rel']:24s} FAILED: {str(e).splitlines()[0]}", flush=True)
                results[p['rel']], _ = process_notebook(p['src'], False)
            else: print(f"  {p['rel']:24s} {timings[p['rel']]:7.1f} s", flush=True)
    ex = _exporter()
    for p in todo:
        note = UNEXECUTED.get(p['rel'])
        if p['rel'] in failed:
            note = ('**Executing this notebook failed when the docs were built**, so it is shown unexecuted:\n\n```\n'
                    + failed[p['rel']][-3000:] + '\n```')
        links = functools.partial(site_links, src=p['src'], page=p['page'], page_of=page_of, reports=reports)
        nb = _for_display(results[p['rel']], note, links)
        render(ex, nb, p['page'], p['title'], _nav(all_pages, reports, p['page']), out)
    # the executed sweep reports, and a page that lists them with their readings
    lines = ['# Reports', '', 'The executed reports of sweeps committed in `reports/`, each with the reading of its numbers.', '']
    guide = next((p for p in all_pages if p['rel'] == 'guides/reports'), None)
    if guide: lines[2] += f" Which question each one answers: [{guide['title']}]({guide['page']}), one line per question."
    for r in reports:
        shutil.copytree(REPORTS/r, out/'reports'/r, ignore=shutil.ignore_patterns('*.ipynb'))
        readme = REPORTS/r/'README.md'
        head = _title_md(readme) if readme.exists() else r
        lines.append(f'- **{r}**: [the executed report](reports/{r}/report.html)'
                     + (f' · [what it says](reports/{r}/index.html) ({head})' if readme.exists() else ''))
        if readme.exists():
            render(ex, _md_page(readme.read_text(encoding='utf-8')), f'reports/{r}/index.html', f'{r}: {head}',
                   _nav(all_pages, reports, f'reports/{r}/index.html'), out)
    render(ex, _md_page('\n'.join(lines) + '\n'), 'reports.html', 'Reports', _nav(all_pages, reports, 'reports.html'), out)
    import jupyter_server_mathjax
    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent/'static', out/'static'/'mathjax')
    timings['total'] = time.time() - t0
    (out/'build.json').write_text(json.dumps({**{k: round(v, 1) for k, v in timings.items()}, 'failed': sorted(failed)}, indent=1))
    timings['failed'] = sorted(failed)
    return timings


def _title_md(p: Path) -> str:
    m = re.search(r'^#\s+(.+)$', p.read_text(encoding='utf-8'), flags=re.M)
    return re.sub(r'[`*]', '', m.group(1)).strip() if m else p.parent.name


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', help="output folder (default: settings.ini's doc_path, _docs/, git-ignored)")
    ap.add_argument('--only', nargs='*', help='build only these notebooks (e.g. index 05_spectral); reports are always copied')
    ap.add_argument('--workers', type=int, default=1, help='notebooks executed at once (default 1)')
    a = ap.parse_args(argv)
    if a.out is None:
        os.chdir(REPO)
        from nbdev.config import get_config
        a.out = str(get_config().doc_path)
    t = build(Path(a.out), a.only, a.workers)
    print(f"built {a.out} in {t['total']:.1f} s; open {Path(a.out)/'index.html'}")
    if t['failed']: sys.exit(f"executing failed for {t['failed']} (their pages say why)")


if __name__ == '__main__': main()
