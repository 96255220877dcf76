"""The documentation site and a sweep's report, opened in a real headless browser (Chromium driven by selenium).

Builds a subset of the site with the README's command (`python docs/build.py`, here `--only index 05_spectral guides`:
the full build executes every notebook), serves it on localhost and checks that each page rendered: its title,
its headings, its tables, and every <img> decoded (naturalWidth > 0); on the guides (`nbs/guides/`), also that every
link to the site resolves. A test without the browser checks what the README must keep: CI's test block, a figure on
its first screen, and a working link to every guide. The browser resolves no host but localhost,
so the pages must work offline. Without Chromium/chromedriver/selenium the tests are skipped, with the reason;
with CI=true they fail instead.
"""
import functools, http.server, json, os, re, shutil, subprocess, sys, threading, time
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
CI = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')
MODULE_NBS = sorted(p.stem for p in (REPO/'nbs').glob('[0-9][0-9]_*.ipynb'))
GUIDE_NBS = sorted((REPO/'nbs'/'guides').glob('*.ipynb'))
BUILT = ['index', '05_spectral', 'guides']   # the subset `site` builds
UNBUILT = {re.sub(r'^\d+[a-zA-Z0-9]*_', '', nb) + '.html' for nb in MODULE_NBS if nb not in BUILT} | {'experiments/distill.html'}


def _markdown(nb_path):
    "The notebook's markdown cells, joined."
    return '\n\n'.join(''.join(c['source']) for c in json.loads(nb_path.read_text(encoding='utf-8'))['cells']
                       if c['cell_type'] == 'markdown')


def _md_outline(nb_path):
    "(title, its `##` headings, how many markdown tables) of a markdown notebook, code blocks left out."
    md = re.sub(r'(?ms)^```.*?^```', '', _markdown(nb_path))
    title = re.search(r'(?m)^#\s+(.+)$', md).group(1).strip()
    heads = [h.strip().replace('`', '') for h in re.findall(r'(?m)^##\s+(.+)$', md)]
    return title, heads, len(re.findall(r'(?m)^\|[-|: ]+\|\s*$', md))


def _no_browser(reason):
    "Fail on CI, skip elsewhere: a missing browser never passes silently."
    msg = f"no headless browser: {reason} (install: apt-get install -y chromium chromium-driver; pip install selenium)"
    if CI: pytest.fail(msg)
    pytest.skip(msg)


def _find(*names):
    for n in names:
        p = shutil.which(n) or (n if os.path.isabs(n) and os.access(n, os.X_OK) else None)
        if p: return p


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    "A headless Chromium, offline (every host but localhost fails to resolve), with a fresh profile."
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e: _no_browser(f'selenium is not installed ({e})')
    chrome = _find('chromium', 'chromium-browser', 'google-chrome', '/usr/bin/chromium')
    driver = _find('chromedriver', '/usr/bin/chromedriver', '/usr/lib/chromium/chromedriver')
    if not chrome: _no_browser('no chromium executable on PATH')
    if not driver: _no_browser('no chromedriver on PATH')
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for a in ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
              '--disable-background-networking', '--disable-component-update', '--disable-sync',
              '--disable-dev-shm-usage', '--window-size=1280,1024',
              '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
              f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        opts.add_argument(a)
    try: d = webdriver.Chrome(service=Service(driver), options=opts)
    except Exception as e: _no_browser(f'chromium did not start: {str(e).splitlines()[0]}')
    d.set_page_load_timeout(60)
    yield d
    d.quit()


def _serve(root):
    "Serve `root` on a free localhost port in a thread; return (server, base URL)."
    handler = functools.partial(type('Quiet', (http.server.SimpleHTTPRequestHandler,), {'log_message': lambda *a: None}),
                                directory=str(root))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}'


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site's index, 05_spectral and guide pages (and the committed reports), built with the README's command and served."
    out = tmp_path_factory.mktemp('docs')/'site'
    t = time.time()
    p = subprocess.run([sys.executable, str(REPO/'docs'/'build.py'), '--only', *BUILT, '--out', str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, f'docs build failed:\n{p.stdout[-3000:]}\n{p.stderr[-5000:]}'
    print(f'docs subset built in {time.time()-t:.1f} s: {(out/"build.json").read_text()}')
    srv, url = _serve(out)
    yield out, url
    srv.shutdown()


def _open(d, url):
    "Load `url`, wait for every image to finish, return the page's title, headings, tables and images."
    from selenium.webdriver.support.ui import WebDriverWait
    d.get(url)
    WebDriverWait(d, 60).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && Array.from(document.images).every(i => i.complete)"))
    return d.execute_script("""return {
        title: document.title,
        headings: Array.from(document.querySelectorAll('h1,h2,h3')).map(h => h.textContent.replace('¶','').trim()),
        h1: Array.from(document.querySelectorAll('h1')).map(h => h.textContent.replace('¶','').trim()),
        tables: Array.from(document.querySelectorAll('table')).map(t => t.innerText),
        images: Array.from(document.images).map(i => ({src: i.src.slice(0, 60), w: i.naturalWidth, h: i.naturalHeight})),
        links: Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href')),
        body_links: Array.from(document.querySelectorAll('main a[href]')).map(a => a.href),
        code_inputs: Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea')).filter(e => e.offsetParent !== null).length,
        text: document.body.innerText};""")


def _all_images_loaded(page, where):
    bad = [i for i in page['images'] if not (i['w'] > 0 and i['h'] > 0)]
    assert not bad, f'{where}: {len(bad)} of {len(page["images"])} images did not load: {bad[:3]}'


def test_index_page(browser, site):
    out, url = site
    page = _open(browser, f'{url}/index.html')
    assert page['title'] == 'asymkd' and page['h1'] == ['asymkd'], (page['title'], page['h1'])
    assert 'effective rank: teacher' in page['text'], 'the index notebook was not executed (its printed output is missing)'
    assert '#|' not in page['text'], 'an nbdev directive (#| ...) is shown on the page'
    assert 'output-file:' not in page['text'], "nbdev's frontmatter is shown as text"
    for nb in MODULE_NBS:   # the sidebar links every module page, the experiment and the reports
        page_html = re.sub(r'^\d+[a-zA-Z0-9]*_', '', nb) + '.html'
        assert page_html in page['links'], f'the sidebar has no link to {page_html} ({nb})'
    assert 'experiments/distill.html' in page['links'] and 'reports.html' in page['links']
    assert GUIDE_NBS, 'no guides in nbs/guides/'
    for g in GUIDE_NBS: assert f'guides/{g.stem}.html' in page['links'], f'the sidebar has no link to the guide {g.name}'
    _all_images_loaded(page, 'index.html')


@pytest.mark.parametrize('guide', [g.stem for g in GUIDE_NBS])
def test_guide_page(browser, site, guide):
    "Each guide is a page: the notebook's title, its sections and tables, and links that resolve inside the site."
    out, url = site
    title, heads, n_tables = _md_outline(REPO/'nbs'/'guides'/f'{guide}.ipynb')
    page = _open(browser, f'{url}/guides/{guide}.html')
    assert page['title'] == title and page['h1'] == [title], (page['title'], page['h1'], title)
    for h in heads: assert h in page['headings'], f'guides/{guide}.html: no section {h!r}: {page["headings"]}'
    assert len(page['tables']) == n_tables, f'guides/{guide}.html: {len(page["tables"])} tables, the notebook has {n_tables}'
    assert '](' not in page['text'] and '| ---' not in page['text'], f'guides/{guide}.html shows raw markdown'
    for href in page['body_links']:   # a GitHub-style link (x.ipynb, ../../reports/r/README.md) must point into the site
        if not href.startswith(url): continue
        path = href[len(url):].split('#')[0].lstrip('/')
        assert not path.endswith(('.ipynb', '.md')), f'guides/{guide}.html links {path}: not a page of the site'
        if path in UNBUILT: continue   # nbdev's link of a backticked name to a module page this subset does not build
        assert (out/path).is_file(), f'guides/{guide}.html links {path}, which the site does not have'
    _all_images_loaded(page, f'guides/{guide}.html')


def test_guides_carry_what_the_readme_moved_out(browser, site):
    "The README's bench tables, faults table and report readings live on the guide pages."
    out, url = site
    speed = _open(browser, f'{url}/guides/speed.html')
    assert any('cache-build (bf16)' in t and 'eval-run' in t for t in speed['tables']), 'the CPU bench table is missing'
    assert any('DINOv2 ViT-B/14' in t for t in speed['tables']), 'the H100 bench table is missing'
    faults = _open(browser, f'{url}/guides/faults.html')
    assert any('SIGKILL' in t and 'what is kept' in t for t in faults['tables']), 'the faults table is missing'
    protocols = _open(browser, f'{url}/guides/protocols.html')
    assert any('paper-cnn-s' in t and '7,932,880' in t for t in protocols['tables']), 'the student table is missing'
    reports = _open(browser, f'{url}/guides/reports.html')
    readings = {h[len(url):].split('#')[0].lstrip('/') for h in reports['body_links'] if h.startswith(url)}
    for r in sorted(p.parent.name for p in (REPO/'reports').glob('*/README.md')):
        if (REPO/'reports'/r/'report.html').exists():
            assert f'reports/{r}/index.html' in readings, f'the Reports guide does not link the reading of {r}'


def test_readme_keeps_ci_block_figure_and_guide_links():
    "CI runs the README's second bash block; the README opens with a committed figure and links every guide."
    readme = (REPO/'README.md').read_text(encoding='utf-8')
    blocks = re.findall(r"^```bash\n(.*?)^```", readme, flags=re.S | re.M)   # as .ci/readme_block.py finds them
    assert len(blocks) >= 2 and blocks[1].rstrip('\n').endswith('nbdev_test --flags slow --n_workers 1 && pytest -q tests'), \
        f"the README's second bash block is not the test command: {blocks[1:2]}"
    assert len(readme.splitlines()) <= 150, f'README.md has {len(readme.splitlines())} lines (at most 150)'
    figs = re.findall(r'!\[[^\]]*\]\(([^)\s]+\.png)\)', '\n'.join(readme.splitlines()[:40]))
    assert figs and all((REPO/f).is_file() for f in figs), f'no committed figure in the first 40 lines: {figs}'
    links = re.findall(r'\]\(([^)\s#]+)(?:#[^)]*)?\)', readme)
    local = [l for l in links if not re.match(r'^[a-z][a-z0-9+.-]*:', l)]
    missing = [l for l in local if not (REPO/l).exists()]
    assert not missing, f'README.md links files that do not exist: {missing}'
    for g in GUIDE_NBS: assert f'nbs/guides/{g.name}' in local, f'README.md does not link the guide {g.name}'


def test_module_page_has_api_docs(browser, site):
    out, url = site
    page = _open(browser, f'{url}/spectral.html')
    assert page['title'] == 'Spectral' and page['h1'] == ['Spectral'], (page['title'], page['h1'])
    for fn in ['center', 'effective_rank', 'subspace_alignment']:   # show_doc headings of exported functions
        assert fn in page['headings'], f'no API entry for {fn}: {page["headings"]}'
    params = [t for t in page['tables'] if 'Details' in t]
    assert len(params) >= 3, f'docments parameter tables missing: {page["tables"][:2]}'
    assert any('N×D embeddings' in t for t in params), 'the docments of `z` are not in a table'
    assert '#|' not in page['text'] and 'nbdev_export' not in page['text']
    assert len(page['images']) >= 1, 'the 05_spectral notebook plots its spectra: the plot is missing'
    _all_images_loaded(page, 'spectral.html')
    assert browser.execute_script('return typeof MathJax !== "undefined"'), 'MathJax, served from the site, did not load'


def test_committed_report_is_in_the_site(browser, site):
    out, url = site
    page = _open(browser, f'{url}/reports.html')
    reports = sorted(p.parent.name for p in (REPO/'reports').glob('*/report.html'))
    assert reports, 'no committed reports/*/report.html'
    for r in reports: assert (out/'reports'/r/'report.html').exists()
    page = _open(browser, f'{url}/reports/{reports[0]}/report.html')
    assert page['title'] and page['images'], f'{reports[0]}/report.html: no title or no figures'
    _all_images_loaded(page, f'reports/{reports[0]}/report.html')


def test_smoke_report_renders(browser, smoke_sweep):
    "The report a sweep writes reads as a report in a browser: title, sections, tables, every figure decoded."
    _, report, _ = smoke_sweep
    html_file = report/'report.html'
    assert html_file.exists(), f'the sweep wrote no {html_file}'
    srv, url = _serve(report)
    try: page = _open(browser, f'{url}/report.html')
    finally: srv.shutdown()
    assert page['title'].strip(), 'report.html has no <title>'
    assert page['h1'], f'report.html has no top heading: {page["headings"][:5]}'
    assert len(page['headings']) >= 3, f'report.html has too few sections: {page["headings"]}'
    assert page['tables'], 'report.html has no tables'
    assert page['code_inputs'] == 0, f"report.html shows {page['code_inputs']} code cells: a report shows results, not code"
    figures = sorted((report/'figures').glob('*.png'))
    assert figures and len(page['images']) >= len(figures), \
        f'{len(page["images"])} images on the page for {len(figures)} figures in figures/'
    _all_images_loaded(page, 'report.html')


def test_license_and_citation_match_settings():
    "LICENSE is the Apache 2.0 text settings.ini announces; CITATION.cff carries settings.ini's version and repository."
    import configparser, yaml
    cfg = configparser.ConfigParser(); cfg.read(REPO/'settings.ini')
    s = cfg['DEFAULT']
    assert s['license'] == 'apache2'
    lic = (REPO/'LICENSE').read_text()
    assert 'Apache License' in lic and 'Version 2.0, January 2004' in lic and 'END OF TERMS AND CONDITIONS' in lic
    cff = yaml.safe_load((REPO/'CITATION.cff').read_text())
    assert cff['cff-version'] == '1.2.0' and cff['title'] == s['lib_name'] == 'asymkd'
    assert str(cff['version']) == s['version'], (cff['version'], s['version'])
    assert cff['license'] == 'Apache-2.0' and cff['repository-code'] == s['git_url']
    assert [a.get('name') for a in cff['authors']] == [s['author']]
    assert not (REPO/'nbs'/s['readme_nb']).exists(), 'readme_nb must name no notebook: README.md is hand-written'
