"""The explorers of notebooks 03, 04 and 06 work in a real JupyterLab, in headless chromium.

The unit tests (tests/viz/test_linegraph.py, tests/exercises/test_ch04.py) set widget values
in the kernel; they cannot show that a choice made in the browser reaches the kernel and
that the redrawn figure reaches the page. This test serves JupyterLab, opens
tests/browser/explorers.ipynb (which builds both explorers as the notebooks do) in Debian's
chromium through Playwright, runs all cells and checks:

1. no error output in any cell and no JavaScript error in the console (the ignore list of
   tests/browser/lab.py, as tests/browser/test_notebook01.py),
2. the line-graph explorer's 3D figure (``.companion-linegraph-figure``), its angle histogram
   (``.companion-angle-hist``) and the attention explorer's figure
   (``.companion-attention-figure``) rendered as plotly plots (``.js-plotly-plot``),
3. choosing a bond of another length in the bond menu (the ``<select>`` of
   ``.companion-bond-select``) changes what both line-graph figures plot,
4. choosing another layer (``.companion-attention-layer``) and then another center atom
   (``.companion-attention-center``) each change what the attention figure plots,
5. the band explorer of notebook 06: its band figure (``.companion-band-figure``) draws
   the bands, the DOS and the overlay, its nglview viewer (``.companion-mode-view``) draws
   a canvas, and a mouse click on a point of another band changes the animated mode (the
   kernel's ``.companion-mode-label`` names the new branch and q-point).

"What a figure plots" is lab.PLOT_SIGNATURE_JS: the x/y/z data of its traces and plotly's
calcdata, read from the page. One JupyterLab server, one notebook, one test.

Needs chromium (`apt-get install chromium`; never `playwright install`). Without it the
test is skipped, except when CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.browser import lab  # tests/browser/lab.py: the shared JupyterLab + chromium helpers

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Seconds for everything in the browser: open the notebook, run all cells (about 15 s of
# kernel work: the data sets, the graphs, a small GATv2, one DFPT document), check. The
# server gets another 45 s at most to start.
BUDGET_S = 110.0

# How long a redraw may take: the choice travels to the kernel, the callback recomputes
# the traces, the FigureWidget sends them back and plotly redraws (a 3D scene in software).
REDRAW_S = 15.0


@pytest.fixture
def chromium_path() -> str:
    """Debian's chromium; skipped without it or the Python packages (failed when CI=true)."""
    return lab.require_browser(lab.REQUIRED_MODULES)


@pytest.fixture
def lab_server(tmp_path):
    """A JupyterLab server serving the fixture notebook, terminated however the test ends."""
    with lab.serve_notebook(lab.EXPLORERS_NOTEBOOK, tmp_path, timeout=45.0) as served:
        yield served


def test_explorers_in_jupyterlab(chromium_path, lab_server, tmp_path, request):
    server, notebook_name = lab_server

    def check(page, console):
        _check_explorers(page, server, notebook_name, lab.Budget(BUDGET_S), console)

    # On failure: screenshot, console log, notebook state and server log (lab.artifacts_dir).
    lab.run_in_browser(chromium_path, server, lab.artifacts_dir(tmp_path, request.node.name), check)


def _check_explorers(page, server, notebook_name: str, budget: lab.Budget, console) -> None:
    t0 = time.monotonic()
    lab.open_and_run_all(page, server, notebook_name, budget)
    t_exec = time.monotonic() - t0

    # 2. the three figures are plotly plots with something in them; the controls are there.
    figures = {
        lab.LINEGRAPH_FIGURE: "the line-graph explorer's 3D figure",
        lab.ANGLE_HIST: "the line-graph explorer's angle histogram",
        lab.ATTENTION_FIGURE: "the attention explorer's figure",
    }
    for cls, what in figures.items():
        lab.wait_for(
            page,
            f".{cls}.js-plotly-plot, .{cls} .js-plotly-plot",
            f"{what} .{cls} (a plotly FigureWidget)",
            console,
            budget(30),
        )
        sig = _stable_signature(page, cls, budget(10))
        assert sig["data"] and any(t["x"] for t in sig["data"]), (
            f"{what} .{cls} plots nothing: {json.dumps(sig)[:500]}" + lab.diagnosis(page, console)
        )
    # Both histogram traces reach the page: the structure's angles and the bond's.
    hist = _signature(page, lab.ANGLE_HIST)["data"]
    empty = [i for i, trace in enumerate(hist) if not trace["x"]]
    assert not empty, (
        f"trace(s) {empty} of the angle histogram .{lab.ANGLE_HIST} (0: all triplets, "
        f"1: the selected bond) have no x data in the browser; x lengths: "
        f"{[len(t['x'] or []) for t in hist]}" + lab.diagnosis(page, console)
    )
    for cls in (lab.BOND_SELECT, lab.ATTENTION_LAYER, lab.ATTENTION_CENTER):
        lab.wait_for(
            page, f".{cls} select", f"the dropdown .{cls}", console, budget(30), state="visible"
        )
    lab.wait_for(
        page, f".{lab.BACKTRACK_TOGGLE} input[type=checkbox]", "the backtracking checkbox",
        console, budget(10),
    )
    lab.wait_for(page, f".{lab.ATTENTION_HEAD}", "the attention head buttons", console, budget(10))

    # 3. another bond (of another length, so that its angles differ too) redraws both
    # line-graph figures.
    bond = _choose(
        page,
        lab.BOND_SELECT,
        _other_length,
        [lab.LINEGRAPH_FIGURE, lab.ANGLE_HIST],
        budget,
        console,
    )

    # 4. the attention explorer: another layer, then another center atom.
    attention = [lab.ATTENTION_FIGURE]
    layer = _choose(page, lab.ATTENTION_LAYER, _next_option, attention, budget, console)
    center = _choose(page, lab.ATTENTION_CENTER, _next_option, attention, budget, console)

    # 5. the band explorer: bands drawn, viewer drawn, a click selects another mode.
    mode = _click_band_point(page, budget, console)

    # 1. no error output, no JavaScript errors (checked last: widget errors show up while
    # the widgets render and while they redraw).
    page.wait_for_timeout(500)
    lab.assert_no_errors(page, console)
    print(
        f"{notebook_name}: cells ran in {t_exec:.1f} s, checks done at "
        f"{time.monotonic() - t0:.1f} s; chose bond {bond!r}, {layer!r}, center {center!r}; "
        f"clicked mode {mode!r}"
    )


def _click_band_point(page, budget, console) -> str:
    """Click branch 2 at q-point 30 of the band figure; return the new mode label. (Plotly
    picks the nearest point: a degenerate branch at the same frequency is as good.)"""
    cls = lab.BAND_FIGURE
    lab.wait_for(page, f".{cls}.js-plotly-plot, .{cls} .js-plotly-plot",
                 f"the band explorer's figure .{cls}", console, budget(30))
    sig = _stable_signature(page, cls, budget(10))
    names = [t["type"] for t in sig["data"]]
    assert len(names) == 3 and all(t["x"] for t in sig["data"]), (
        f"the band figure should plot DFPT bands, the overlay and the DOS: {names}"
        + lab.diagnosis(page, console))
    lab.wait_for(page, f".{lab.MODE_VIEW} canvas", "the mode viewer's canvas (nglview)",
                 console, budget(30), state="visible")
    label = page.locator(f".{lab.MODE_LABEL}").first
    lab.wait_for(page, f".{lab.MODE_LABEL}", "the mode label", console, budget(10))
    before = label.inner_text()
    assert "branch 5" in before, f"the first mode should be branch 5, label: {before!r}"
    page.locator(f".{cls}").first.scroll_into_view_if_needed()
    point = page.evaluate(lab.POINT_PIXEL_JS, [cls, 2, 30])
    assert "error" not in point, point
    page.mouse.move(point["x"], point["y"])
    page.mouse.click(point["x"], point["y"])
    after = lab.wait_for_value(lambda: label.inner_text(), lambda t: t != before,
                               budget(REDRAW_S))
    shown = re.search(r"([-\d.]+) THz", after)
    assert after != before and shown and abs(float(shown.group(1)) - point["freq"]) < 0.05, (
        f"clicking the point at {point['freq']:.3f} THz of the band figure did not select "
        f"that mode: label {before!r} -> {after!r}" + lab.diagnosis(page, console))
    return after


def _signature(page, cls: str) -> dict:
    sig = page.evaluate(lab.PLOT_SIGNATURE_JS, cls)
    assert "error" not in sig, sig["error"]
    return sig


def _stable_signature(page, cls: str, timeout: float) -> dict:
    """The plot signature once two reads 0.5 s apart agree (the first render has settled)."""
    deadline = time.monotonic() + timeout
    last = _signature(page, cls)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        sig = _signature(page, cls)
        if sig == last:
            return sig
        last = sig
    return last


def _options(select) -> list[dict]:
    return select.evaluate(
        "s => Array.from(s.options).map(o => ({label: o.textContent, selected: o.selected}))"
    )


def _next_option(options: list[dict]) -> int:
    """The option after the selected one (wrapping around)."""
    current = next(i for i, o in enumerate(options) if o["selected"])
    return (current + 1) % len(options)


def _other_length(options: list[dict]) -> int:
    """The first bond whose length ("…, 1.945 Å") differs from the selected bond's."""

    def length(label: str) -> str:
        m = re.search(r"([\d.]+)\s*Å\s*$", label)
        assert m, f"no bond length in the option {label!r}"
        return m.group(1)

    current = length(next(o["label"] for o in options if o["selected"]))
    for i, o in enumerate(options):
        if length(o["label"]) != current:
            return i
    raise AssertionError(f"every bond has length {current} Å: nothing else to choose")


def _choose(page, select_cls: str, pick, figure_classes: list[str], budget, console) -> str:
    """Choose ``pick(options)`` in the dropdown ``.select_cls`` (as a user would: Playwright
    ``select_option``) and assert that each figure of ``figure_classes`` plots other data
    afterwards. Returns the label chosen."""
    select = page.locator(f".{select_cls} select").first
    select.scroll_into_view_if_needed()
    options = _options(select)
    assert len(options) > 1, f".{select_cls} offers nothing to choose: {options}"
    index = pick(options)
    label = options[index]["label"].replace("\xa0", " ")
    before = {cls: _stable_signature(page, cls, budget(10)) for cls in figure_classes}
    select.select_option(index=index, timeout=budget(10) * 1000)
    selected = [o["label"] for o in _options(select) if o["selected"]]
    assert selected == [options[index]["label"]], (
        f"the dropdown .{select_cls} shows {selected} after choosing {label!r}"
    )
    for cls in figure_classes:
        timeout = budget(REDRAW_S)
        after = lab.wait_for_value(
            lambda cls=cls: _signature(page, cls), lambda s, cls=cls: s != before[cls], timeout
        )
        if after == before[cls]:  # raise, not assert: pytest would print both signatures
            raise AssertionError(
                f"choosing {label!r} in .{select_cls} did not redraw .{cls} within "
                f"{timeout:.0f} s: plotted data stayed {json.dumps(before[cls])[:300]}"
                + lab.diagnosis(page, console)
            )
    return label
