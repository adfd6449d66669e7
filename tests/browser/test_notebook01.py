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

import io
import json
import time

import pytest

from tests.browser import lab  # tests/browser/lab.py: the shared JupyterLab + chromium helpers

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK_01 = lab.NOTEBOOKS / "01_crystals_as_graphs.ipynb"

# Per notebook: (path, seconds for everything in the browser: open, run all cells, check).
# The server gets another 45 s at most to start; the worst case stays under 4 minutes.
CASES = {
    "widget_smoke": (lab.FIXTURE_NOTEBOOK, 120.0),
    "01_crystals_as_graphs": (NOTEBOOK_01, 170.0),
}


@pytest.fixture
def chromium_path() -> str:
    """Debian's chromium; skipped without it or the Python packages (failed when CI=true)."""
    return lab.require_browser(lab.REQUIRED_MODULES)


@pytest.fixture
def lab_server(request, tmp_path):
    """A JupyterLab server on a scratch copy of notebooks/, terminated however the test ends."""
    notebook = request.param
    with lab.serve_notebook(notebook, tmp_path, timeout=45.0) as served:
        yield served


@pytest.mark.parametrize(
    ("lab_server", "budget_s"),
    [pytest.param(path, t, id=name) for name, (path, t) in CASES.items()],
    indirect=["lab_server"],
)
def test_widgets_render_in_jupyterlab(chromium_path, lab_server, budget_s, tmp_path, request):
    server, notebook_name = lab_server

    def check(page, console):
        _check_notebook(page, server, notebook_name, lab.Budget(budget_s), console)

    # On failure: screenshot, console log, notebook state and server log. Under tmp_path,
    # or under $COMPANION_BROWSER_ARTIFACTS (e.g. for a CI job to upload), one dir per test.
    lab.run_in_browser(chromium_path, server, lab.artifacts_dir(tmp_path, request.node.name), check)


def _check_notebook(page, server, notebook_name: str, budget: lab.Budget, console) -> None:
    t0 = time.monotonic()
    lab.open_and_run_all(page, server, notebook_name, budget)
    t_exec = time.monotonic() - t0

    # 1. nglview: every structure view holds a canvas of non-zero size, with something drawn.
    lab.wait_for(page, f".{lab.STRUCTURE_VIEW} canvas", "the nglview 3D view", console, budget(30))
    sizes = lab.wait_for_value(
        lambda: page.evaluate(lab.CANVAS_SIZES_JS, lab.STRUCTURE_VIEW),
        lambda v: v and all(any(c["w"] > 0 and c["h"] > 0 for c in cs) for cs in v),
        timeout=budget(20),
    )
    assert sizes and all(any(c["w"] > 0 and c["h"] > 0 for c in cs) for cs in sizes), (
        f"an nglview view .{lab.STRUCTURE_VIEW} has no canvas of non-zero size: {sizes}"
        + lab.diagnosis(page, console)
    )
    views = page.locator(f".{lab.STRUCTURE_VIEW}")
    for i in range(views.count()):
        _assert_canvas_drawn(views.nth(i).locator("canvas").first, budget(15))

    # 2. plotly: at least two figures rendered.
    lab.wait_for(
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
        lab.wait_for(page, f".{cls}", f"the slider .{cls}", console, budget(30), state="visible")
        assert page.locator(f".{cls}.widget-slider, .{cls} .widget-slider").count(), (
            f".{cls} is not an ipywidgets slider (.widget-slider)"
        )
    assert page.locator(".widget-slider").count() >= 2

    # 5. moving the cutoff slider redraws the neighbor-count histogram.
    lab.wait_for(
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
    lab.assert_no_errors(page, console)
    print(
        f"{notebook_name}: cells ran in {t_exec:.1f} s, checks done at "
        f"{time.monotonic() - t0:.1f} s; {n_plots} plotly figures; nglview canvases {sizes}"
    )


def _assert_slider_redraws_histogram(page, budget: lab.Budget) -> None:
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
        after = lab.wait_for_value(
            lambda: page.evaluate(lab.PLOT_SIGNATURE_JS, lab.NEIGHBOR_HIST),
            lambda sig: sig != before,
            timeout=budget(4),
        )
        if after != before:
            break
    if after == before and last != start:  # a slow redraw of the last move
        after = lab.wait_for_value(
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
