"""Widgets render in a real JupyterLab, in headless chromium.

Executing a notebook with nbclient cannot show whether widgets render (nglview 4.0.1,
for instance, runs fine in a kernel and shows a JavaScript error in JupyterLab 4). This
test serves JupyterLab, opens a notebook in Debian's chromium through Playwright, runs
all cells and checks what the browser shows:

1. the nglview 3D view (a <canvas> of non-zero size in ``.companion-structure-view``),
2. at least two plotly figures (``.js-plotly-plot``),
3. the cutoff and k sliders (``.companion-cutoff-slider``, ``.companion-k-slider``),
4. no JavaScript error in the console, no error output in any cell,
5. moving the cutoff slider (keyboard, on its handle) redraws the neighbor-count
   histogram (``.companion-neighbor-hist``, a plotly FigureWidget).

Parametrized over a small fixture notebook (tests/browser/widget_smoke.ipynb, fast) and
notebooks/01_crystals_as_graphs.ipynb, which follow the same CSS-class contract.

Needs chromium (`apt-get install chromium`; never `playwright install`). Without it the
test is skipped, except when CI=true, where that is a failure.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "companion_browser_lab", Path(__file__).parent / "browser" / "lab.py"
)
lab = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = lab
_spec.loader.exec_module(lab)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK_01 = lab.NOTEBOOKS / "01_crystals_as_graphs.ipynb"

# Per notebook: (path, seconds for everything in the browser: open, run all cells, check).
# The server gets another 45 s at most to start; the worst case stays under 4 minutes.
CASES = {
    "widget_smoke": (lab.FIXTURE_NOTEBOOK, 120.0),
    "01_crystals_as_graphs": (NOTEBOOK_01, 170.0),
}

REQUIRED_MODULES = (
    "playwright",
    "jupyterlab",
    "ipywidgets",
    "nglview",
    "plotly",
    "anywidget",
    "PIL",
)


def _unavailable(reason: str) -> None:
    """Skip locally; fail on CI (CI=true), where the browser stack must be there."""
    if lab.in_ci():
        pytest.fail(f"{reason} (CI=true: the browser test must run on CI)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def chromium_path() -> str:
    path = lab.find_chromium()
    if path is None:
        _unavailable(
            "chromium not found (/usr/bin/chromium or on PATH); "
            "install Debian's: apt-get install chromium"
        )
    missing = [m for m in REQUIRED_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        _unavailable(f"python packages missing: {', '.join(missing)} (pip install -e '.[test]')")
    return path


@pytest.fixture
def lab_server(request, tmp_path):
    """A JupyterLab server on a scratch copy of notebooks/, terminated however the test ends."""
    notebook = request.param
    if not notebook.exists():
        pytest.skip(f"{notebook.relative_to(lab.REPO)} does not exist yet")
    extra = [] if notebook.parent == lab.NOTEBOOKS else [notebook]
    root = lab.prepare_root(tmp_path / "repo", extra)
    server = lab.start_lab_server(
        tmp_path / "jupyter", root, env={"COMPANION_FAST": "1"}, timeout=45.0
    )
    try:
        yield server, notebook.name
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("lab_server", "budget_s"),
    [pytest.param(path, t, id=name) for name, (path, t) in CASES.items()],
    indirect=["lab_server"],
)
def test_widgets_render_in_jupyterlab(chromium_path, lab_server, budget_s, tmp_path, request):
    from playwright.sync_api import sync_playwright

    server, notebook_name = lab_server
    console: list[str] = []  # every console message / page error, as "<type>: <text> @ <url>"
    # On failure: screenshot, console log, notebook state and server log. Under tmp_path,
    # or under $COMPANION_BROWSER_ARTIFACTS (e.g. for a CI job to upload), one dir per test.
    artifacts = tmp_path / "artifacts"
    if os.environ.get("COMPANION_BROWSER_ARTIFACTS"):
        test_id = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
        artifacts = Path(os.environ["COMPANION_BROWSER_ARTIFACTS"]).resolve() / test_id
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, args=lab.CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1200})
            page.on("console", lambda m: console.append(_console_entry(m)))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e} @ {page.url}"))
            try:
                _check_notebook(page, server, notebook_name, _Budget(budget_s), console)
            except Exception as exc:
                where = _save_artifacts(page, server, console, artifacts)
                print(f"browser test failed: screenshot, console log and state in {where}")
                exc.add_note(f"screenshot, console log and state saved in {where}")
                raise
        finally:
            browser.close()


class _Budget:
    """The time left for one test; ``budget(cap)`` is a timeout in seconds, at most ``cap``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def __call__(self, cap: float | None = None) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"the test used up its {self.seconds:.0f} s")
        return left if cap is None else min(cap, left)


def _console_entry(msg) -> str:
    loc = msg.location or {}
    return f"{msg.type}: {msg.text} @ {loc.get('url', '')}"


def _check_notebook(page, server, notebook_name: str, budget: _Budget, console) -> None:
    t0 = time.monotonic()
    page.goto(
        server.notebook_url(notebook_name), wait_until="domcontentloaded", timeout=budget(60) * 1000
    )

    # Kernel started and idle.
    state = _poll(
        page,
        lambda s: s.get("ready") and s.get("kernelStatus") == "idle",
        timeout=budget(90),
        what="JupyterLab to open the notebook with an idle kernel",
    )
    assert state["path"] == notebook_name, state
    assert state["total"] > 0, f"{notebook_name} has no code cells"

    page.evaluate(lab.RUN_ALL_JS)

    # Every code cell executed and the kernel idle again; stop early on an error output
    # (run-all stops at the first failing cell).
    def settled(s):
        if not s.get("ready") or s["kernelStatus"] != "idle" or s["running"]:
            return False
        return s["executed"] == s["total"] or bool(s["errors"])

    state = _poll(page, settled, timeout=budget(), what="all cells to run", stable=3)
    assert not state["errors"], "error output in the notebook:\n" + "\n\n".join(state["errors"])
    assert state["executed"] == state["total"], state
    t_exec = time.monotonic() - t0

    # 1. nglview: every structure view holds a canvas of non-zero size, with something drawn.
    _wait_for(page, f".{lab.STRUCTURE_VIEW} canvas", "the nglview 3D view", console, budget(30))
    sizes = _wait_for_value(
        lambda: page.evaluate(lab.CANVAS_SIZES_JS, lab.STRUCTURE_VIEW),
        lambda v: v and all(any(c["w"] > 0 and c["h"] > 0 for c in cs) for cs in v),
        timeout=budget(20),
    )
    assert sizes and all(any(c["w"] > 0 and c["h"] > 0 for c in cs) for cs in sizes), (
        f"an nglview view .{lab.STRUCTURE_VIEW} has no canvas of non-zero size: {sizes}"
        + _diagnosis(page, console)
    )
    views = page.locator(f".{lab.STRUCTURE_VIEW}")
    for i in range(views.count()):
        _assert_canvas_drawn(views.nth(i).locator("canvas").first, budget(15))

    # 2. plotly: at least two figures rendered.
    _wait_for(
        page,
        ".js-plotly-plot >> nth=1",
        "two plotly figures (.js-plotly-plot)",
        console,
        budget(30),
    )
    n_plots = page.locator(".js-plotly-plot").count()
    assert n_plots >= 2, f"expected at least 2 plotly figures (.js-plotly-plot), found {n_plots}"

    # 3. ipywidgets sliders, with the contract classes.
    for cls in (lab.CUTOFF_SLIDER, lab.K_SLIDER):
        _wait_for(page, f".{cls}", f"the slider .{cls}", console, budget(30), state="visible")
        assert page.locator(f".{cls}.widget-slider, .{cls} .widget-slider").count(), (
            f".{cls} is not an ipywidgets slider (.widget-slider)"
        )
    assert page.locator(".widget-slider").count() >= 2

    # 5. moving the cutoff slider redraws the neighbor-count histogram.
    _wait_for(
        page,
        f".{lab.NEIGHBOR_HIST}.js-plotly-plot, .{lab.NEIGHBOR_HIST} .js-plotly-plot",
        f"the neighbor-count histogram .{lab.NEIGHBOR_HIST} (a plotly FigureWidget)",
        console,
        budget(30),
    )
    _assert_slider_redraws_histogram(page, budget)

    # 4. no JavaScript errors, no error output in any cell (checked last: widget errors
    # show up while the widgets render and while the slider moves).
    page.wait_for_timeout(500)
    _, ignored = _console_errors(console)
    if ignored:
        print("ignored console errors:\n" + "\n".join(ignored))
    problems = _diagnosis(page, console)
    assert not problems, "the notebook shows errors in JupyterLab:" + problems
    print(
        f"{notebook_name}: cells ran in {t_exec:.1f} s, checks done at "
        f"{time.monotonic() - t0:.1f} s; {n_plots} plotly figures; nglview canvases {sizes}"
    )


def _console_errors(console: list[str]) -> tuple[list[str], list[str]]:
    """(errors, ignored errors with the reason) among the console messages so far."""
    errors, ignored = [], []
    for entry in console:
        if not entry.startswith(("error:", "pageerror:")):
            continue
        why = lab.is_ignored_console(entry)
        if why:
            ignored.append(f"{entry}  [ignored: {why}]")
        else:
            errors.append(entry)
    return errors, ignored


def _diagnosis(page, console: list[str]) -> str:
    """Error outputs and console errors so far ("" if none): the failure, or its explanation."""
    try:
        out_errors = page.evaluate(lab.OUTPUT_ERRORS_JS)
    except Exception as exc:  # noqa: BLE001
        out_errors = [f"(could not read the outputs: {exc})"]
    errors, _ = _console_errors(console)
    text = ""
    if out_errors:
        text += "\nerror output in the notebook:\n" + "\n".join(out_errors)
    if errors:
        text += "\nJavaScript errors in the browser console:\n" + "\n".join(
            e[:1500] for e in errors
        )
    return text


def _wait_for(page, selector: str, what: str, console, timeout: float, state="attached"):
    """Wait for ``selector``; on timeout say what is missing and what went wrong."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    locator = page.locator(selector).first
    try:
        locator.wait_for(state=state, timeout=timeout * 1000)
    except PlaywrightTimeout:
        raise AssertionError(
            f"{what} did not appear within {timeout:.0f} s after the cells ran "
            f"(selector {selector!r}; is the CSS class set with add_class?)"
            + _diagnosis(page, console)
        ) from None
    locator.scroll_into_view_if_needed()
    return locator


def _assert_slider_redraws_histogram(page, budget: _Budget) -> None:
    handle = page.locator(f".{lab.CUTOFF_SLIDER} .noUi-handle").first
    handle.scroll_into_view_if_needed()
    before = page.evaluate(lab.PLOT_SIGNATURE_JS, lab.NEIGHBOR_HIST)
    assert "error" not in before, before["error"]
    start = page.evaluate(lab.SLIDER_READOUT_JS, lab.CUTOFF_SLIDER)
    # Arrow keys move a noUiSlider handle by one step. Press in batches until the
    # histogram changes: a few steps may stay within one neighbor shell.
    key, last, after = "ArrowRight", start, before
    for _batch in range(15):
        handle.focus()
        for _ in range(4):
            page.keyboard.press(key)
        value = page.evaluate(lab.SLIDER_READOUT_JS, lab.CUTOFF_SLIDER)
        if value == last:
            if key == "ArrowRight" and value == start:
                key = "ArrowLeft"  # started at the maximum
                continue
            break  # reached the end of the range
        last = value
        after = _wait_for_value(
            lambda: page.evaluate(lab.PLOT_SIGNATURE_JS, lab.NEIGHBOR_HIST),
            lambda sig: sig != before,
            timeout=budget(4),
        )
        if after != before:
            break
    if after == before and last != start:  # a slow redraw of the last move
        after = _wait_for_value(
            lambda: page.evaluate(lab.PLOT_SIGNATURE_JS, lab.NEIGHBOR_HIST),
            lambda sig: sig != before,
            timeout=budget(10),
        )
    assert last != start, (
        f"the cutoff slider did not move with the keyboard (readout {start} -> {last})"
    )
    assert after != before, (
        f"moving the cutoff slider ({start} -> {last}) did not redraw "
        f".{lab.NEIGHBOR_HIST}: plotted data stayed {json.dumps(before)[:500]}"
    )


def _assert_canvas_drawn(canvas, timeout: float) -> None:
    """The WebGL canvas shows something: not just one background colour.

    At least 0.5 % of its pixels differ from the most common colour (the resize handle
    drawn over the corner of an empty view is far below that).
    """
    from PIL import Image

    canvas.scroll_into_view_if_needed()
    deadline = time.monotonic() + timeout
    while True:
        img = Image.open(io.BytesIO(canvas.screenshot(timeout=10_000))).convert("RGB")
        colours = img.getcolors(maxcolors=img.width * img.height) or []
        background = max(colours)[0] if colours else 0
        drawn = 1.0 - background / max(1, img.width * img.height)
        if drawn >= 0.005:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"nglview canvas ({img.width}x{img.height}) is blank: only {drawn:.2%} of "
                "its pixels differ from the background"
            )
        time.sleep(0.5)


def _poll(page, done, timeout: float, what: str, stable: int = 1) -> dict:
    """Poll NOTEBOOK_STATE_JS until ``done(state)`` holds ``stable`` times in a row."""
    deadline = time.monotonic() + timeout
    hits, state = 0, {}
    while True:
        state = page.evaluate(lab.NOTEBOOK_STATE_JS)
        hits = hits + 1 if done(state) else 0
        if hits >= stable:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {state}")
        time.sleep(0.5)


def _wait_for_value(get, ok, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def _save_artifacts(page, server, console: list[str], where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for name, save in (
        ("screenshot.png", lambda p: page.screenshot(path=str(p), full_page=True, timeout=10_000)),
        ("screenshot-notebook.png", lambda p: _screenshot_whole_notebook(page, p)),
        ("console.log", lambda p: p.write_text("\n".join(console) + "\n")),
        (
            "notebook-state.json",
            lambda p: p.write_text(json.dumps(page.evaluate(lab.NOTEBOOK_STATE_JS), indent=1)),
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
