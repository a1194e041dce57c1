"""asv plugin: the published site works with no network, and previews on 127.0.0.1.

asv 0.6's ``index.html`` loads jQuery, flot, bootstrap, stupidtable and md5
from public CDNs; offline, the page only shows an error. With this module
listed in ``asv.conf.json``::

    "plugins": [".asv_offline"]

plain ``asv publish`` also copies ``vendor/`` (the same libraries, with their
licenses) into the html directory as ``html/vendor/`` and points
``index.html`` at those copies, and ``asv preview`` listens on 127.0.0.1
instead of every interface. asv imports a plugin whose name starts with "."
from the current directory, which is the directory of asv.conf.json (asv
changes to it when given ``--config``).

Without the plugin line, or for an html directory published elsewhere::

    python -m asv_offline [HTML_DIR]

does the same rewriting after ``asv publish``. Both are idempotent. A CDN
address that this module does not know (a newer asv) is an error, not a
silently broken offline page.
"""

import errno
import re
import shutil
import socketserver
import sys
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().with_name("vendor")
VENDOR_URL_PREFIX = "vendor/"

# What asv 0.6.6's www/index.html loads, and the vendored copy of each
# (paths under vendor/; provenance in vendor/README.md).
CDN_TO_LOCAL = {
    "https://code.jquery.com/jquery-3.3.1.min.js": "jquery-3.3.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js": "flot-0.8.3/jquery.flot.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js": "flot-0.8.3/jquery.flot.time.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js": "flot-0.8.3/jquery.flot.selection.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js": "flot-0.8.3/jquery.flot.categories.js",
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js": "flot-orderbars-1.0.0/jquery.flot.orderBars.js",
    "https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js": "stupidtable/stupidtable.js",
    "https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js": "blueimp-md5-2.19.0/md5.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js": "bootstrap-3.1.1/js/bootstrap.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css": "bootstrap-3.1.1/css/bootstrap.min.css",
}

# Vendored files that are byte for byte the CDN file (asv's integrity
# attribute must match them); the others are the same release unminified.
SAME_BYTES_AS_CDN = {
    "jquery-3.3.1/jquery.min.js",
    "flot-orderbars-1.0.0/jquery.flot.orderBars.js",
    "blueimp-md5-2.19.0/md5.min.js",
    "bootstrap-3.1.1/js/bootstrap.min.js",
    "bootstrap-3.1.1/css/bootstrap.min.css",
}

_LOADING_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_URL_ATTR = re.compile(r"""\b(src|href)\s*=\s*(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
# Attributes that only make sense for a cross-origin copy.
_CDN_ONLY_ATTRS = re.compile(
    r"""\s+(?:integrity|crossorigin|referrerpolicy)(?:\s*=\s*(["']).*?\1)?(?=[\s/>])""",
    re.IGNORECASE | re.DOTALL,
)
_REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


class OfflineSiteError(RuntimeError):
    """The html directory loads something this module has no copy of."""


def is_remote(url):
    """True for an address that leaves the site (http:, https:, //host)."""
    return bool(_REMOTE.match(url))


def remote_loads(html_text):
    """The remote addresses that <script src> and <link href> tags load."""
    urls = []
    for tag in _LOADING_TAG.findall(html_text):
        m = _URL_ATTR.search(tag)
        if m and is_remote(m.group(3)):
            urls.append(m.group(3))
    return urls


def localize_html(html_text):
    """Point each known CDN <script>/<link> at its vendored copy.

    Returns the new text; raises OfflineSiteError for an unknown remote load.
    """
    unknown = []

    def rewrite(match):
        tag = match.group(0)
        m = _URL_ATTR.search(tag)
        if not m or not is_remote(m.group(3)):
            return tag
        url = m.group(3).strip()
        local = CDN_TO_LOCAL.get(url)
        if local is None:
            unknown.append(url)
            return tag
        tag = tag[: m.start(3)] + VENDOR_URL_PREFIX + local + tag[m.end(3):]
        return _CDN_ONLY_ATTRS.sub("", tag)

    new_text = _LOADING_TAG.sub(rewrite, html_text)
    if unknown:
        raise OfflineSiteError(
            "asv_offline has no vendored copy of: " + ", ".join(unknown)
            + " (a different asv version? see asv_offline/vendor/README.md)"
        )
    return new_text


def localize_site(html_dir):
    """Copy vendor/ into html_dir and rewrite its top-level *.html. Idempotent."""
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").is_file():
        raise OfflineSiteError(f"{html_dir} has no index.html: run `asv publish` first")
    missing = [p for p in CDN_TO_LOCAL.values() if not (VENDOR_DIR / p).is_file()]
    if missing:
        raise OfflineSiteError(f"vendored files missing from {VENDOR_DIR}: {missing}")
    shutil.copytree(VENDOR_DIR, html_dir / "vendor", dirs_exist_ok=True)
    changed = []
    for page in sorted(html_dir.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        new_text = localize_html(text)
        if new_text != text:
            page.write_text(new_text, encoding="utf-8")
            changed.append(page.name)
    return changed


# --- the asv side ----------------------------------------------------------

try:
    from asv.publishing import OutputPublisher
except ImportError:  # asv not installed: the command-line use still works
    OutputPublisher = object


class OfflineAssets(OutputPublisher):
    """Runs inside `asv publish`, after asv copied its www/ template."""

    name = "asv_offline"
    button_label = None
    description = "Vendored web libraries instead of CDN addresses"
    order = 10**6  # after asv's own publishers

    @classmethod
    def publish(cls, conf, repo, benchmarks, graphs, revisions):
        localize_site(conf.html_dir)


def _create_loopback_httpd(handler_cls, port=0):
    """asv.commands.preview.create_httpd, bound to 127.0.0.1 only."""
    from asv import util
    from asv.commands import preview

    class LoopbackTCPServer(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    for candidate in preview.random_ports(port, 5):
        try:
            httpd = LoopbackTCPServer(("127.0.0.1", candidate), handler_cls)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                continue
            raise
        return httpd, f"http://127.0.0.1:{candidate}/"
    raise util.UserError("Failed to find an unused port for serving web pages")


_create_loopback_httpd.asv_offline = True


def setup():
    """Called by asv's plugin manager when asv.conf.json lists this module."""
    try:
        from asv.commands import preview
    except ImportError:
        return
    if hasattr(preview, "create_httpd") and hasattr(preview, "random_ports"):
        preview.create_httpd = _create_loopback_httpd


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m asv_offline",
        description="Make an html directory written by `asv publish` work with no network.",
    )
    parser.add_argument(
        "html_dir", nargs="?", default=None,
        help="default: html_dir of ./asv.conf.json, else ./html",
    )
    args = parser.parse_args(argv)
    html_dir = args.html_dir
    if html_dir is None:
        html_dir = "html"
        if Path("asv.conf.json").is_file():
            from asv import util

            html_dir = util.load_json("asv.conf.json").get("html_dir", html_dir)
    try:
        changed = localize_site(html_dir)
    except OfflineSiteError as e:
        print(f"asv_offline: error: {e}", file=sys.stderr)
        return 1
    what = ", ".join(changed) if changed else "nothing to rewrite (already offline)"
    print(f"asv_offline: {html_dir}: vendor/ copied; rewrote {what}")
    return 0
