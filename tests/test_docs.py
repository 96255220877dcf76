"""The documentation site and a sweep's report, opened in a real headless browser (Chromium driven by selenium).

Builds a subset of the site with the README's command (`python docs/build.py`, here `--only index 05_spectral`:
the full build executes every notebook), serves it on localhost and checks that each page rendered: its title,
its headings, its tables, and every <img> decoded (naturalWidth > 0). The browser resolves no host but localhost,
so the pages must work offline. Without Chromium/chromedriver/selenium the tests are skipped, with the reason;
with CI=true they fail instead.
"""
import functools, http.server, json, os, re, shutil, subprocess, sys, threading, time
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
CI = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')
MODULE_NBS = sorted(p.stem for p in (REPO/'nbs').glob('[0-9][0-9]_*.ipynb'))


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
    "The site's index and 05_spectral pages (and the committed reports), built with the README's command and served."
    out = tmp_path_factory.mktemp('docs')/'site'
    t = time.time()
    p = subprocess.run([sys.executable, str(REPO/'docs'/'build.py'), '--only', 'index', '05_spectral', '--out', str(out)],
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
    _all_images_loaded(page, 'index.html')


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
