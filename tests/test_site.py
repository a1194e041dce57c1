"""End to end: the published asv site works offline, in a real headless Chromium.

The module builds one site, as a user would and with the real tools, from
the session's measured clone (the ``measured_clone`` fixture of
``tests/conftest.py``): a ``git clone --no-local`` of this repository with a
second commit, a real ``asv run --quick`` of the whole suite over both
commits in one real virtualenv environment
(``PARALLELDOT_BENCH_PROFILE=quick``); then plain ``asv publish`` and ``asv
preview`` on 127.0.0.1. Then Debian's Chromium, driven by Playwright, loads
it while every request is recorded (and any that would leave 127.0.0.1 is
aborted and reported).

Needs: git, asv and virtualenv; /usr/bin/chromium (Debian packages
``chromium``, ``chromium-driver``) and the ``playwright`` Python package
(its own browser download is not used). Without the browser the browser tests
skip, except when ``CI`` is set: then they fail.

Screenshots go to ``artifacts/`` at the repository root.
"""

import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest

from _clone import OFFLINE_PLUGIN, REPO, missing, reap_leftovers

ARTIFACTS = REPO / "artifacts"
CHROMIUM = Path(os.environ.get("PARALLELDOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PLUGIN = OFFLINE_PLUGIN
LOOPBACK_HOSTS = {"127.0.0.1"}

# The fast checks below need neither; the site tests are marked.
asv_site = pytest.mark.asv
in_browser = pytest.mark.browser


# --------------------------------------------------------------- helpers


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_addresses(port):
    """Local addresses listening on TCP ``port`` (from `ss`), or None without ss."""
    ss = shutil.which("ss")
    if ss is None:
        return None
    out = subprocess.run(
        [ss, "-Hltn", f"sport = :{port}"], stdout=subprocess.PIPE, text=True, check=True
    ).stdout
    return [line.split()[3].rsplit(":", 1)[0] for line in out.splitlines() if line.strip()]


# --------------------------------------------------------------- the site


@pytest.fixture(scope="module")
def site(measured_clone):
    """Publish and serve the session's measured clone (two commits); yield its facts."""
    clone = measured_clone.clone
    base = clone.workdir

    # 1. and 2. The session's measured clone: its second commit, asv run
    # --quick of the whole suite over both commits in one virtualenv
    # environment. Exit 2 = some benchmark failed: the suite's own tests
    # judge that; this module only needs results of both commits (checked
    # below), so warn.
    measured_clone.require((0, 2))
    run_out = measured_clone.output
    failed = sorted(set(re.findall(r"··· (\S+)\s+(?:\d+/\d+ )?failed", run_out)))
    if failed:
        warnings.warn(f"asv run --quick: benchmarks failed: {failed}")
    hashes = list(measured_clone.commits)
    conf = clone.config()

    # 3. Plain `asv publish`: the plugin makes it offline.
    publish_out = clone.asv("publish", timeout=300).stdout
    html = clone.path / conf.html_dir  # asv reads these paths from the repository root
    index = json.loads((html / "index.json").read_text())
    results = {}
    for f in (clone.path / conf.results_dir).glob("*/*.json"):
        if f.name != "machine.json":
            d = json.loads(f.read_text())
            results[d["commit_hash"]] = d
    hash_to_rev = {h: int(r) for r, h in index["revision_to_hash"].items()}

    # 4. `asv preview` (the plugin binds it to 127.0.0.1), on a free port.
    port = _free_port()
    log = open(base / "preview.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "asv", "preview", "-p", str(port)],
                              cwd=clone.path, env=clone.env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "index.json", timeout=2) as r:
                    r.read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("asv preview did not serve:\n" + (base / "preview.log").read_text())
                time.sleep(0.2)
        yield {
            "clone": clone.path, "html": html, "url": url, "port": port, "index": index,
            "hashes": hashes, "revisions": sorted(hash_to_rev[h] for h in hashes),
            "results": results, "plugin_listed": measured_clone.plugin_listed,
            "env_name": measured_clone.env_name, "run_output": run_out,
            "publish_output": publish_out, "seconds_to_results": measured_clone.seconds,
            "leftover_processes": measured_clone.leftovers,
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
        reap_leftovers(base)


# --------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser():
    # Tests list `browser` first so that a missing browser shows before the
    # site is built (pytest sets up module fixtures in argument order).
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} not found (Debian packages chromium, chromium-driver)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright Python package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, site):
    """A fresh page that records every request and aborts any off 127.0.0.1."""
    from urllib.parse import urlsplit

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    requests, blocked, errors = [], [], []

    def guard(route):
        if urlsplit(route.request.url).hostname in LOOPBACK_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    pg.on("request", lambda r: requests.append(r.url))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.requests, pg.blocked, pg.errors = requests, blocked, errors
    yield pg

    off_loopback = [u for u in requests if urlsplit(u).hostname not in LOOPBACK_HOSTS]
    context.close()
    assert requests, "the page made no request at all"
    assert not off_loopback and not blocked, f"requests left 127.0.0.1: {off_loopback or blocked}"
    assert not errors, f"JavaScript errors: {errors}"


def _screenshot(pg, name):
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / name))


def _measured(result_file_entry):
    """True when a results-file entry holds at least one number (not all skipped)."""
    values = result_file_entry[0] if result_file_entry else None
    if not isinstance(values, list):
        values = [values]
    return any(isinstance(v, (int, float)) and not math.isnan(v) for v in values)


def _nm_workers_benchmark(site):
    """A benchmark parametrized by N and workers, measured at both commits (time_ first)."""
    index, candidates = site["index"], []
    for name, b in sorted(index["benchmarks"].items(),
                          key=lambda kv: (kv[1].get("type") != "time", kv[0])):
        names = [p.lower() for p in b.get("param_names", [])]
        if "n" in names and "workers" in names:
            candidates.append(name)
            if all(_measured(site["results"][h]["results"].get(name)) for h in site["hashes"]):
                return name, b
    pytest.fail(f"no benchmark parametrized by N and workers has results at both commits "
                f"(parametrized so: {sorted(candidates)})")


_PLOT_SERIES_JS = """() => {
    var plot = window.jQuery && jQuery('#main-graph').data('plot');
    if (!plot) return null;
    return plot.getData().map(function (s) {
        return {label: s.label || '',
                points: s.data.filter(function (p) { return p && p[1] !== null && isFinite(p[1]); })
                              .map(function (p) { return p[0]; })};
    });
}"""


def _graph_series(pg, min_series=1):
    pg.wait_for_function(
        f"() => {{ var s = ({_PLOT_SERIES_JS})(); "
        f"return s && s.filter(x => x.points.length).length >= {min_series}; }}",
        timeout=30_000,
    )
    return pg.evaluate(_PLOT_SERIES_JS)


# --------------------------------------------------------------- the tests


def test_asv_conf_lists_the_plugin():
    """Plain `asv publish` in this repository gives the offline site."""
    from asv import util

    if not (REPO / "asv.conf.json").is_file():
        pytest.fail("no asv.conf.json at the repository root")
    conf = util.load_json(str(REPO / "asv.conf.json"), js_comments=True)
    assert PLUGIN in conf.get("plugins", []), f'asv.conf.json needs "plugins": ["{PLUGIN}"]'


def test_vendored_files_are_the_cdn_files():
    """Where asv pins a CDN file by hash and ours claims the same bytes, they match."""
    import base64
    import hashlib

    import asv

    import asv_offline

    template = (Path(asv.__file__).parent / "www" / "index.html").read_text()
    tags = re.findall(r"<(?:script|link)\b[^>]*>", template)
    checked = 0
    for url, local in asv_offline.CDN_TO_LOCAL.items():
        tag = next((t for t in tags if url in t), None)
        assert tag is not None, f"installed asv no longer loads {url}"
        m = re.search(r'integrity="(sha\d+)-([^"]+)"', tag)
        if local in asv_offline.SAME_BYTES_AS_CDN and m:
            algo, expected = m.groups()
            data = (asv_offline.VENDOR_DIR / local).read_bytes()
            assert base64.b64encode(hashlib.new(algo, data).digest()).decode() == expected, local
            checked += 1
        for lic in ("LICENSE", "LICENSE.txt"):
            if (asv_offline.VENDOR_DIR / local.split("/")[0] / lic).is_file():
                break
        else:
            pytest.fail(f"no license file beside {local}")
    assert checked == len(asv_offline.SAME_BYTES_AS_CDN)
    # and the rewrite leaves nothing remote in asv's template, idempotently
    once = asv_offline.localize_html(template)
    assert asv_offline.remote_loads(once) == []
    assert asv_offline.localize_html(once) == once


def test_fallback_command_makes_a_published_dir_offline(tmp_path, capsys):
    """`python -m asv_offline DIR` on asv's own template; twice is the same as once."""
    import asv

    import asv_offline

    html = tmp_path / "html"
    shutil.copytree(Path(asv.__file__).parent / "www", html)
    assert asv_offline.remote_loads((html / "index.html").read_text())
    assert asv_offline.main([str(html)]) == 0
    once = (html / "index.html").read_text()
    assert asv_offline.remote_loads(once) == []
    for local in asv_offline.CDN_TO_LOCAL.values():
        assert (html / "vendor" / local).is_file(), local
    assert asv_offline.main([str(html)]) == 0
    assert (html / "index.html").read_text() == once
    assert "already offline" in capsys.readouterr().out
    # an address it has no copy of is an error, not a silently broken page
    (html / "index.html").write_text(once.replace(
        "</head>", '<script src="https://cdn.example.org/new-lib.js"></script></head>'))
    assert asv_offline.main([str(html)]) == 1
    assert "new-lib.js" in capsys.readouterr().err


def test_preview_binds_loopback_only():
    """With the plugin set up, asv preview's server listens on 127.0.0.1."""
    import http.server

    from asv.commands import preview

    import asv_offline

    original = preview.create_httpd
    try:
        asv_offline.setup()
        httpd, base_url = preview.create_httpd(http.server.SimpleHTTPRequestHandler, port=0)
        try:
            assert httpd.server_address[0] == "127.0.0.1"
            assert base_url.startswith("http://127.0.0.1:")
        finally:
            httpd.server_close()
    finally:
        preview.create_httpd = original


@asv_site
def test_published_html_loads_nothing_remote(site):
    import asv_offline

    html = site["html"]
    for page in html.glob("*.html"):
        assert asv_offline.remote_loads(page.read_text()) == [], page.name
    for local in asv_offline.CDN_TO_LOCAL.values():
        assert (html / "vendor" / local).is_file(), local
    assert "OfflineAssets" in site["publish_output"]
    # both commits have results, in one environment
    assert set(site["hashes"]) <= set(site["results"]), site["run_output"][-3000:]
    listening = _listening_addresses(site["port"])
    if listening is not None:
        assert listening == ["127.0.0.1"], listening


@asv_site
@in_browser
def test_benchmark_list_shows_the_suite(browser, page, site):
    page.goto(site["url"] + "#summarylist")
    page.wait_for_selector("#summarylist-body table tbody tr", timeout=30_000)
    text = page.inner_text("#summarylist-body")
    with_results = set()
    for r in site["results"].values():
        with_results.update(r["results"])
    benchmarks = site["index"]["benchmarks"]
    assert with_results, "no benchmark has results"
    missing = [name for name in sorted(with_results)
               if (benchmarks[name].get("pretty_name") or name) not in text]
    assert not missing, f"the benchmark list lacks {missing}"
    _screenshot(page, "site-benchmark-list.png")


@asv_site
@in_browser
def test_graph_one_point_per_commit_with_n_and_workers_controls(browser, page, site):
    name, bench = _nm_workers_benchmark(site)
    page.goto(site["url"] + "#" + name)
    series = _graph_series(page)
    revisions = site["revisions"]
    drawn = [s for s in series if s["points"]]
    assert drawn, f"{name}: no line has a point"
    for s in drawn:
        assert sorted(s["points"]) == revisions, (
            f"{name} {s['label']}: points at {s['points']}, commits at {revisions}")

    # the N and workers controls: a panel each, one button per value
    panels = page.evaluate("""() => Array.from(
        document.querySelectorAll('#graphdisplay-navigation .panel')).map(p => ({
            heading: (p.querySelector('.panel-heading') || {}).textContent || '',
            buttons: Array.from(p.querySelectorAll('.btn')).map(b => b.textContent.trim()),
        }))""")
    by_heading = {p["heading"].strip(): p["buttons"] for p in panels}
    for i, pname in enumerate(bench["param_names"]):
        assert pname in by_heading, f"no '{pname}' control: {sorted(by_heading)}"
        assert len(by_heading[pname]) == len(bench["params"][i]), (pname, by_heading[pname])
    assert "x-axis" in by_heading and len(by_heading["x-axis"]) == 1 + len(bench["param_names"])
    _screenshot(page, "site-graph.png")

    # selecting: one N and one workers value leave exactly one line
    values = {}
    for i, pname in enumerate(bench["param_names"]):
        values[pname] = bench["params"][i][0]
    n_key = next(p for p in bench["param_names"] if p.lower() == "n")
    w_key = next(p for p in bench["param_names"] if p.lower() == "workers")
    for v in bench["params"][bench["param_names"].index(n_key)]:
        # the smallest N that has a line (a profile may skip large ones)
        if any(re.search(rf"\b{re.escape(n_key)}-{re.escape(str(v).strip(chr(39)))}\b", s["label"])
               for s in drawn):
            values[n_key] = v
            break
    query = "&".join(f"p-{k}={urllib.request.quote(str(v))}" for k, v in values.items())
    page.goto(site["url"] + "#" + name + "?" + query)
    page.wait_for_function(f"() => {{ var s = ({_PLOT_SERIES_JS})(); return s && s.length === 1; }}",
                           timeout=30_000)
    one = page.evaluate(_PLOT_SERIES_JS)
    assert len(one) == 1 and sorted(one[0]["points"]) == revisions, (query, one)
    _screenshot(page, "site-graph-one-line.png")

    # and a click on a second workers value adds its line, as a user would
    if len(bench["params"][bench["param_names"].index(w_key)]) > 1:
        panel = page.locator("#graphdisplay-navigation .panel").filter(
            has=page.locator(".panel-heading", has_text=re.compile(rf"^\s*{re.escape(w_key)}\s*$")))
        panel.locator(".btn").nth(1).click()
        page.wait_for_function(
            f"() => {{ var s = ({_PLOT_SERIES_JS})(); return s && s.length === 2; }}",
            timeout=30_000)


@asv_site
@in_browser
def test_every_box_of_the_grid_has_data(browser, page, site):
    """No empty box: every benchmark's summary graph (the grid's thumbnail) holds a value."""
    empty = []
    for name in sorted(site["index"]["benchmarks"]):
        path = site["html"] / "graphs" / "summary" / f"{name}.json"
        points = json.loads(path.read_text()) if path.exists() else []
        if not any(isinstance(v, (int, float)) and math.isfinite(v) for _, v in points):
            empty.append(name)
    assert not empty, f"empty boxes in the benchmark grid: {empty}"
    page.goto(site["url"])
    page.wait_for_selector(".benchmark-container .benchmark-plot", timeout=30_000)
    boxes = page.locator(".benchmark-container").count()
    assert boxes == len(site["index"]["benchmarks"]), boxes
    _screenshot(page, "site-grid.png")
