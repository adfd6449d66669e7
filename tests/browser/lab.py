"""Helpers for the browser tests (tests/browser/test_notebook01.py, test_explorers.py):
a throwaway JupyterLab server, page probes, and the Playwright plumbing they share (launch
chromium, poll the notebook's state, wait for widgets, report errors, save artifacts).

Imports neither pytest nor playwright at import time (the functions that need them import
them). To look at what a test sees, serve a notebook the same way (scratch copy, temp dirs,
COMPANION_FAST=1) until Enter is pressed::

    .venv/bin/python tests/browser/lab.py notebooks/01_crystals_as_graphs.ipynb
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
FIXTURE_NOTEBOOK = Path(__file__).resolve().parent / "widget_smoke.ipynb"
EXPLORERS_NOTEBOOK = Path(__file__).resolve().parent / "explorers.ipynb"

# Python packages the browser tests need (besides chromium): without them they are skipped
# (failed when CI=true).
REQUIRED_MODULES = (
    "playwright",
    "jupyterlab",
    "ipywidgets",
    "nglview",
    "plotly",
    "anywidget",
    "PIL",
)

# Debian's chromium, launched through Playwright's executable_path: the test never downloads
# a browser (`playwright install` is neither needed nor allowed).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # WebGL (nglview) then runs on SwiftShader, in software; newer Chromium only allows that
    # fallback when asked to. Harmless here: the page is our own local JupyterLab.
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]

# The contract with the notebooks: CSS classes set with ipywidgets' `add_class`.
STRUCTURE_VIEW = "companion-structure-view"  # nglview.NGLWidget
CUTOFF_SLIDER = "companion-cutoff-slider"  # ipywidgets.FloatSlider
K_SLIDER = "companion-k-slider"  # ipywidgets.IntSlider
NEIGHBOR_HIST = "companion-neighbor-hist"  # plotly go.FigureWidget (an anywidget DOMWidget)
# companion.viz.linegraph_explorer.line_graph_explorer (notebook 03)
BOND_SELECT = "companion-bond-select"  # ipywidgets.Dropdown of the bonds
BACKTRACK_TOGGLE = "companion-backtracking-toggle"  # ipywidgets.Checkbox
LINEGRAPH_FIGURE = "companion-linegraph-figure"  # go.FigureWidget, 3D
ANGLE_HIST = "companion-angle-hist"  # go.FigureWidget, histogram
# companion.viz.attention.attention_explorer (notebook 04)
ATTENTION_LAYER = "companion-attention-layer"  # ipywidgets.Dropdown
ATTENTION_HEAD = "companion-attention-head"  # ipywidgets.ToggleButtons
ATTENTION_CENTER = "companion-attention-center"  # ipywidgets.Dropdown
ATTENTION_FIGURE = "companion-attention-figure"  # go.FigureWidget, 3D
# companion.viz.phonons.band_explorer (notebook 06)
BAND_FIGURE = "companion-band-figure"  # go.FigureWidget, 2D bands + DOS
MODE_VIEW = "companion-mode-view"  # nglview.NGLWidget playing the selected mode
MODE_LABEL = "companion-mode-label"  # ipywidgets.HTML naming the selected mode

# JupyterLab user settings for the test server (JUPYTERLAB_SETTINGS_DIR is a temp dir).
LAB_SETTINGS = {
    # 'none' attaches every cell to the DOM; the default ('contentVisibility') lets the
    # browser skip layout of off-screen cells, which would make widget sizes read as 0.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # The test works on a copy, but never write the executed notebook back anyway.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # No news / update checks: no network, and no toast covering the notebook.
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
}


def find_chromium() -> str | None:
    """Debian's chromium: /usr/bin/chromium, else `chromium` on PATH."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def prepare_root(dest: Path, extra_notebooks: list[Path]) -> Path:
    """A scratch copy of notebooks/ (plus ``extra_notebooks``) to serve as root_dir.

    Running the notebooks from a copy keeps the checkout clean (no outputs, checkpoints or
    autosaves written back). Every other non-hidden top-level entry of the repository is
    symlinked next to the copy so that relative paths such as ``../data`` still resolve.
    Returns the notebooks folder of the copy.
    """
    dest.mkdir(parents=True, exist_ok=True)
    root = dest / "notebooks"
    if NOTEBOOKS.is_dir():
        shutil.copytree(
            NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
        )
    else:
        root.mkdir()
    for entry in REPO.iterdir():
        if entry.name.startswith(".") or entry.name == "notebooks":
            continue
        (dest / entry.name).symlink_to(entry)
    for nb in extra_notebooks:
        shutil.copy2(nb, root / nb.name)
    return root


@dataclass
class LabServer:
    """A running `jupyter lab` subprocess; always call stop() (the test fixture does)."""

    proc: subprocess.Popen
    workdir: Path
    root_dir: Path
    log_path: Path
    token: str
    port: int | None = None
    _log_file: object = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def notebook_url(self, relpath: str) -> str:
        # `reset` ignores any saved workspace; the token logs the browser in (cookie).
        return f"{self.base_url}lab/tree/{relpath}?reset&token={self.token}"

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def api(self, method: str, path: str, timeout: float = 5.0) -> bytes:
        req = urllib.request.Request(
            f"{self.base_url}{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()

    def running_kernels(self) -> list[dict]:
        return json.loads(self.api("GET", "api/kernels"))

    def stop(self, timeout: float = 20.0) -> None:
        """Shut the server (and its kernels) down; escalate to SIGTERM, then SIGKILL."""
        try:
            if self.proc.poll() is None and self.port is not None:
                try:
                    # Clean shutdown: the server shuts its kernels down first.
                    self.api("POST", "api/shutdown", timeout=5.0)
                except (OSError, urllib.error.URLError):
                    pass
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)  # also shuts kernels down
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None


def start_lab_server(
    workdir: Path, root_dir: Path, env: dict[str, str] | None = None, timeout: float = 60.0
) -> LabServer:
    """Start JupyterLab on 127.0.0.1 (a free port chosen by the OS) with a random token.

    Config, runtime, data, settings and workspace dirs all live under ``workdir``, so
    concurrent servers (pytest-xdist workers) never share state. ``env`` is added to the
    server's environment, which kernels inherit (e.g. COMPANION_FAST=1).
    Raises RuntimeError, with the tail of the server log, if it does not come up.
    """
    dirs = {name: workdir / name for name in ("config", "runtime", "data", "settings", "ws")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    for plugin, settings in LAB_SETTINGS.items():
        pkg, name = plugin.rsplit("/", 1)
        target = dirs["settings"] / pkg / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(settings))
    # Config file rather than flags for the values that flags cannot spell (null).
    (dirs["config"] / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "LabApp": {
                    "news_url": None,
                    "check_for_updates_class": (
                        "jupyterlab.handlers.announcements.NeverCheckForUpdate"
                    ),
                    "extension_manager": "readonly",
                }
            }
        )
    )
    token = secrets.token_hex(24)
    server_env = dict(os.environ)
    for var in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_TOKEN", "JPY_SESSION_NAME"):
        server_env.pop(var, None)
    server_env.update(
        {
            "JUPYTER_CONFIG_DIR": str(dirs["config"]),
            "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
            "JUPYTER_DATA_DIR": str(dirs["data"]),  # no user-level kernelspec overrides
            "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
            "JUPYTERLAB_WORKSPACES_DIR": str(dirs["ws"]),
            "JUPYTER_TOKEN": token,  # not on the command line (visible in `ps`)
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    server_env.update(env or {})
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",  # the OS picks a free port; read back from the runtime file
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    log_path = workdir / "jupyter-server.log"
    log_file = open(log_path, "w")  # noqa: SIM115 - closed by LabServer.stop()
    proc = subprocess.Popen(
        cmd,
        cwd=root_dir,
        env=server_env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    server = LabServer(proc, workdir, root_dir, log_path, token, _log_file=log_file)
    try:
        _wait_until_up(server, dirs["runtime"], timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies without cleaning up (a killed
    pytest-xdist worker), so no server outlives it. The server shuts its kernels down."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_until_up(server: LabServer, runtime: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    info_file = runtime / f"jpserver-{server.proc.pid}.json"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with code {server.proc.returncode}; "
                f"log {server.log_path}:\n{server.log_tail()}"
            )
        if server.port is None and info_file.exists():
            try:
                server.port = int(json.loads(info_file.read_text())["port"])
            except (ValueError, KeyError):
                pass  # half-written; retry
        if server.port is not None:
            try:
                server.api("GET", "api/status", timeout=2.0)
                return
            except (OSError, urllib.error.URLError):
                pass
        time.sleep(0.25)
    raise RuntimeError(
        f"jupyter lab did not come up within {timeout:.0f} s; "
        f"log {server.log_path}:\n{server.log_tail()}"
    )


# --------------------------------------------------------------------------------------
# Browser console noise that is not a failure of the notebook or its widgets. Each entry:
# (regex on "<type>: <text> @ <url>", why it is ignored). Everything else is an error.
IGNORED_CONSOLE = [
    (
        r"favicon\.ico",
        "the browser asks for /favicon.ico; a 404 there says nothing about the notebook",
    ),
    (
        r"Failed to load resource: net::ERR_[A-Z_]+ @ \S+\.(woff2?|ttf|otf|eot)\b",
        "network errors for web fonts (no internet on CI runners); text still renders",
    ),
]


def is_ignored_console(entry: str) -> str | None:
    """The reason ``entry`` is ignored, or None if it counts as an error."""
    for pattern, why in IGNORED_CONSOLE:
        if re.search(pattern, entry):
            return why
    return None


# JavaScript run in the page (Playwright page.evaluate). `window.jupyterapp` exists because
# the server runs with --LabApp.expose_app_in_browser=True.

# State of the notebook in the main area: kernel, cells executed / running, error outputs.
NOTEBOOK_STATE_JS = r"""
() => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return {ready: false, why: 'window.jupyterapp not there yet'};
  const panel = app.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext || !panel.content.widgets)
    return {ready: false, why: 'no notebook panel in the main area yet'};
  const ctx = panel.sessionContext;
  const kernel = ctx.session ? ctx.session.kernel : null;
  const cells = panel.content.widgets.filter(
    c => c.model.type === 'code' && c.model.sharedModel.getSource().trim() !== '');
  let executed = 0, running = 0;
  const errors = [];
  cells.forEach((c, i) => {
    if (c.model.executionCount !== null) executed++;
    const prompt = c.node.querySelector('.jp-InputPrompt');
    if (prompt && prompt.textContent.includes('*')) running++;
    const outs = c.model.outputs;
    for (let j = 0; j < outs.length; j++) {
      const o = outs.get(j).toJSON();
      if (o.output_type === 'error')
        errors.push(`code cell ${i + 1}: ${o.ename}: ${o.evalue}\n` +
                    (o.traceback || []).join('\n').replace(/\x1b\[[0-9;]*m/g, ''));
    }
  });
  const dialog = document.querySelector('.jp-Dialog');  // e.g. a kernel picker: never answered
  return {
    dialog: dialog ? (dialog.innerText || '').slice(0, 500) : null,
    ready: ctx.isReady === true && !!kernel,
    why: kernel ? '' : 'no kernel yet',
    path: panel.context ? panel.context.path : null,
    kernelStatus: kernel ? kernel.status : null,
    kernelName: kernel ? kernel.name : null,
    total: cells.length, executed, running, errors,
  };
}
"""

RUN_ALL_JS = r"""
async () => {
  const app = window.jupyterapp;
  await app.commands.execute('notebook:clear-all-cell-outputs');
  const cmd = app.commands.hasCommand('notebook:run-all-cells')
    ? 'notebook:run-all-cells' : 'runmenu:run-all';
  app.commands.execute(cmd);  // not awaited: it resolves only when every cell has run
  return cmd;
}
"""

# Error text shown in output areas: stderr outputs with a traceback / error, and the
# widget manager's "Error displaying widget" / "Failed to load model class" messages.
OUTPUT_ERRORS_JS = r"""
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const node = panel.node;
  const found = [];
  for (const el of node.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')) {
    const text = el.innerText || el.textContent || '';
    if (/Traceback|\w*Error\b/.test(text)) found.push('stderr output: ' + text.slice(0, 2000));
  }
  for (const el of node.querySelectorAll('.jp-OutputArea-output')) {
    const text = el.innerText || el.textContent || '';
    for (const msg of ['Error displaying widget', 'Failed to load model class',
                       'Error rendering output item', 'Click to show javascript error'])
      if (text.includes(msg)) found.push(`widget error output: ${text.slice(0, 2000)}`);
  }
  // ipywidgets 8 renders a widget whose model or view fails to load (a lab extension
  // mismatch, e.g. nglview 4.0.1 in JupyterLab 4) as this error box; the JavaScript
  // error itself is in the console log.
  const boxes = node.querySelectorAll('.jupyter-widgets-error-widget');
  if (boxes.length)
    found.push(`${boxes.length} widget(s) failed to render (.jupyter-widgets-error-widget,` +
               ' "Click to show javascript error"); see the console errors');
  return [...new Set(found)];
}
"""

# Size of every <canvas> inside each nglview widget with the contract class.
CANVAS_SIZES_JS = r"""
(cls) => Array.from(document.querySelectorAll('.' + cls)).map(view => {
  return Array.from(view.querySelectorAll('canvas')).map(c => {
    const r = c.getBoundingClientRect();
    return {w: r.width, h: r.height, pw: c.width, ph: c.height};
  });
})
"""

# What a plotly figure (the element with class `cls`, or the .js-plotly-plot inside it)
# plots: the x/y/z data of each trace (typed arrays made plain), plotly's computed bins
# (calcdata) and the drawn SVG bar paths (none in 3D figures: WebGL).
PLOT_SIGNATURE_JS = r"""
(cls) => {
  const host = document.querySelector('.' + cls);
  if (!host) return {error: `no element with class ${cls}`};
  const gd = host.matches('.js-plotly-plot') ? host : host.querySelector('.js-plotly-plot');
  if (!gd) return {error: `.${cls} has no .js-plotly-plot inside`};
  const plain = v => {
    if (v == null) return null;
    if (ArrayBuffer.isView(v)) return Array.from(v);
    if (Array.isArray(v)) return v.map(plain);
    if (typeof v === 'object' && 'bdata' in v) return v;  // still base64: compare as is
    return v;
  };
  const data = (gd.data || []).map(
    t => ({type: t.type, x: plain(t.x), y: plain(t.y), z: plain(t.z)}));
  const calc = (gd.calcdata || []).map(
    tr => (tr || []).map(b => [b.p, b.s, b.x, b.y].filter(v => v !== undefined)));
  const bars = Array.from(gd.querySelectorAll('.bars path, .point path, .trace path'))
    .map(p => p.getAttribute('d'));
  return {data, calc, bars};
}
"""

POINT_PIXEL_JS = r"""
([cls, branch, qIndex]) => {
  // page coordinates of point (branch, q-point) of trace 0 of a band figure, whose
  // branches are one line each, separated by a gap (customdata = [q-point, branch])
  const host = document.querySelector('.' + cls);
  if (!host) return {error: `no element with class ${cls}`};
  const gd = host.matches('.js-plotly-plot') ? host : host.querySelector('.js-plotly-plot');
  if (!gd || !gd.calcdata || !gd._fullData) return {error: `.${cls} is not drawn yet`};
  const cd = gd.calcdata[0];
  const custom = Array.from(gd._fullData[0].customdata || []);
  const nBranches = 1 + Math.max(...custom.map(c => c[1]));
  const pt = cd[branch * (cd.length / nBranches) + qIndex];
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const r = gd.getBoundingClientRect();
  return {x: r.left + xa._offset + xa.l2p(pt.x), y: r.top + ya._offset + ya.l2p(pt.y),
          nBranches, freq: pt.y};
}
"""

SLIDER_READOUT_JS = r"""
(cls) => {
  const el = document.querySelector('.' + cls);
  if (!el) return null;
  const r = el.querySelector('.widget-readout');
  const h = el.querySelector('.noUi-handle');
  return {readout: r ? (r.innerText || r.textContent).trim() : null,
          now: h ? h.getAttribute('aria-valuenow') : null};
}
"""


# --------------------------------------------------------------------------------------
# Shared by the browser tests: what they need (skip or fail), a server for one notebook,
# a chromium page with the console recorded and artifacts saved on failure, and waiting
# for the notebook, for elements and for values, with errors that say what went wrong.


def require_browser(required_modules: tuple[str, ...] = REQUIRED_MODULES) -> str:
    """The chromium executable; skip the test (fail it when CI=true) if chromium or a
    Python package of ``required_modules`` is missing."""
    import importlib.util

    path = find_chromium()
    if path is None:
        unavailable(
            "chromium not found (/usr/bin/chromium or on PATH); "
            "install Debian's: apt-get install chromium"
        )
    missing = [m for m in required_modules if importlib.util.find_spec(m) is None]
    if missing:
        unavailable(f"python packages missing: {', '.join(missing)} (pip install -e '.[test]')")
    return path


def unavailable(reason: str) -> None:
    """Skip locally; fail on CI (CI=true), where the browser stack must be there."""
    import pytest

    if in_ci():
        pytest.fail(f"{reason} (CI=true: the browser test must run on CI)", pytrace=False)
    pytest.skip(reason)


@contextmanager
def serve_notebook(notebook: Path, tmp_path: Path, timeout: float = 45.0):
    """A JupyterLab server (COMPANION_FAST=1) on a scratch copy of notebooks/ plus
    ``notebook`` if it lives elsewhere; yields (server, notebook name), stops it on exit."""
    extra = [] if notebook.parent == NOTEBOOKS else [notebook]
    root = prepare_root(tmp_path / "repo", extra)
    server = start_lab_server(
        tmp_path / "jupyter", root, env={"COMPANION_FAST": "1"}, timeout=timeout
    )
    try:
        yield server, notebook.name
    finally:
        server.stop()


def artifacts_dir(tmp_path: Path, test_name: str) -> Path:
    """Where a failing test saves its artifacts: under tmp_path, or under
    $COMPANION_BROWSER_ARTIFACTS (e.g. for a CI job to upload), one dir per test."""
    if os.environ.get("COMPANION_BROWSER_ARTIFACTS"):
        test_id = re.sub(r"[^\w.-]+", "_", test_name).strip("_")
        return Path(os.environ["COMPANION_BROWSER_ARTIFACTS"]).resolve() / test_id
    return tmp_path / "artifacts"


def run_in_browser(chromium_path: str, server: LabServer, artifacts: Path, check) -> None:
    """Open a headless chromium page and call ``check(page, console)``.

    ``console`` collects every console message and page error, as
    ``"<type>: <text> @ <url>"``. If ``check`` raises, a screenshot, the console log, the
    notebook state and the server log are saved in ``artifacts`` (and the error says where).
    """
    from playwright.sync_api import sync_playwright

    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1200})
            page.on("console", lambda m: console.append(console_entry(m)))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e} @ {page.url}"))
            try:
                check(page, console)
            except Exception as exc:
                where = save_artifacts(page, server, console, artifacts)
                print(f"browser test failed: screenshot, console log and state in {where}")
                exc.add_note(f"screenshot, console log and state saved in {where}")
                raise
        finally:
            browser.close()


class Budget:
    """The time left for one test; ``budget(cap)`` is a timeout in seconds, at most ``cap``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def __call__(self, cap: float | None = None) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"the test used up its {self.seconds:.0f} s")
        return left if cap is None else min(cap, left)


def console_entry(msg) -> str:
    loc = msg.location or {}
    return f"{msg.type}: {msg.text} @ {loc.get('url', '')}"


def console_errors(console: list[str]) -> tuple[list[str], list[str]]:
    """(errors, ignored errors with the reason) among the console messages so far."""
    errors, ignored = [], []
    for entry in console:
        if not entry.startswith(("error:", "pageerror:")):
            continue
        why = is_ignored_console(entry)
        if why:
            ignored.append(f"{entry}  [ignored: {why}]")
        else:
            errors.append(entry)
    return errors, ignored


def diagnosis(page, console: list[str]) -> str:
    """Error outputs and console errors so far ("" if none): the failure, or its explanation."""
    try:
        out_errors = page.evaluate(OUTPUT_ERRORS_JS)
    except Exception as exc:  # noqa: BLE001
        out_errors = [f"(could not read the outputs: {exc})"]
    errors, _ = console_errors(console)
    text = ""
    if out_errors:
        text += "\nerror output in the notebook:\n" + "\n".join(out_errors)
    if errors:
        text += "\nJavaScript errors in the browser console:\n" + "\n".join(
            e[:1500] for e in errors
        )
    return text


def assert_no_errors(page, console: list[str], what: str = "the notebook") -> None:
    """No error output in any cell and no console error (ignored ones are printed)."""
    _, ignored = console_errors(console)
    if ignored:
        print("ignored console errors:\n" + "\n".join(ignored))
    problems = diagnosis(page, console)
    assert not problems, f"{what} shows errors in JupyterLab:" + problems


def wait_for(page, selector: str, what: str, console, timeout: float, state="attached"):
    """Wait for ``selector``; on timeout say what is missing and what went wrong."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    locator = page.locator(selector).first
    try:
        locator.wait_for(state=state, timeout=timeout * 1000)
    except PlaywrightTimeout:
        raise AssertionError(
            f"{what} did not appear within {timeout:.0f} s after the cells ran "
            f"(selector {selector!r}; is the CSS class set with add_class?)"
            + diagnosis(page, console)
        ) from None
    locator.scroll_into_view_if_needed()
    return locator


def poll(page, done, timeout: float, what: str, stable: int = 1) -> dict:
    """Poll NOTEBOOK_STATE_JS until ``done(state)`` holds ``stable`` times in a row."""
    deadline = time.monotonic() + timeout
    hits, state = 0, {}
    while True:
        state = page.evaluate(NOTEBOOK_STATE_JS)
        hits = hits + 1 if done(state) else 0
        if hits >= stable:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {state}")
        time.sleep(0.5)


def wait_for_value(get, ok, timeout: float):
    """``get()`` until ``ok`` of it holds or ``timeout`` s have passed; the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def open_and_run_all(page, server: LabServer, notebook_name: str, budget: Budget) -> dict:
    """Open the notebook, wait for an idle kernel, run all cells and wait until every code
    cell has run; fails on an error output. Returns the notebook state."""
    page.goto(
        server.notebook_url(notebook_name), wait_until="domcontentloaded", timeout=budget(60) * 1000
    )

    # Kernel started and idle.
    state = poll(
        page,
        lambda s: s.get("ready") and s.get("kernelStatus") == "idle",
        timeout=budget(90),
        what="JupyterLab to open the notebook with an idle kernel",
    )
    assert state["path"] == notebook_name, state
    assert state["total"] > 0, f"{notebook_name} has no code cells"

    page.evaluate(RUN_ALL_JS)

    # Every code cell executed and the kernel idle again; stop early on an error output
    # (run-all stops at the first failing cell).
    def settled(s):
        if not s.get("ready") or s["kernelStatus"] != "idle" or s["running"]:
            return False
        return s["executed"] == s["total"] or bool(s["errors"])

    state = poll(page, settled, timeout=budget(), what="all cells to run", stable=3)
    assert not state["errors"], "error output in the notebook:\n" + "\n\n".join(state["errors"])
    assert state["executed"] == state["total"], state
    return state


def save_artifacts(page, server: LabServer, console: list[str], where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for name, save in (
        ("screenshot.png", lambda p: page.screenshot(path=str(p), full_page=True, timeout=10_000)),
        ("screenshot-notebook.png", lambda p: _screenshot_whole_notebook(page, p)),
        ("console.log", lambda p: p.write_text("\n".join(console) + "\n")),
        (
            "notebook-state.json",
            lambda p: p.write_text(json.dumps(page.evaluate(NOTEBOOK_STATE_JS), indent=1)),
        ),
    ):
        try:
            save(where / name)
        except Exception as exc:  # noqa: BLE001 - best effort, keep the original failure
            (where / f"{name}.failed").write_text(repr(exc))
    try:
        (where / "jupyter-server.log").write_text(server.log_path.read_text(errors="replace"))
    except OSError:
        pass
    return where


def _screenshot_whole_notebook(page, path: Path) -> None:
    """JupyterLab scrolls inside the notebook panel: grow the viewport to show every cell."""
    height = page.evaluate(
        "() => { const p = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " if (!p || !p.node) return 0;"
        " const s = p.node.querySelector('.jp-WindowedPanel-outer') || p.node;"
        " s.scrollTop = 0; return s.scrollHeight - s.clientHeight + window.innerHeight; }"
    )
    if height:
        page.set_viewport_size({"width": 1600, "height": min(int(height) + 50, 15000)})
        page.wait_for_timeout(1000)
    page.screenshot(path=str(path), timeout=20_000)


if __name__ == "__main__":
    import tempfile

    nb = Path(sys.argv[1] if len(sys.argv) > 1 else FIXTURE_NOTEBOOK).resolve()
    with tempfile.TemporaryDirectory(prefix="companion-lab-") as tmp:
        root_dir = prepare_root(Path(tmp) / "repo", [] if nb.parent == NOTEBOOKS else [nb])
        lab_server = start_lab_server(Path(tmp) / "jupyter", root_dir, {"COMPANION_FAST": "1"})
        try:
            print(f"{lab_server.notebook_url(nb.name)}\nlog: {lab_server.log_path}")
            input("Enter stops the server. ")
        finally:
            lab_server.stop()
