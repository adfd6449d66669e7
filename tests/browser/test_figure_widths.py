"""Every figure and widget of the course notebooks fits the notebook column (issue: figures).

A student reads the course in JupyterLab with the file browser open: at a 1400 x 1000 window
the notebook's output area is about 900 px wide. This test serves JupyterLab, opens each
notebook (FAST mode) in Debian's chromium with the file browser shown, runs all cells, and
measures every plotly figure (``.js-plotly-plot``) and every ipywidgets box in the page: none
may be wider than the output area it sits in. It then changes every dropdown of every widget
(the explorers redraw) and measures again. A screenshot of each figure and widget is saved
under the test's artifact folder (``$COMPANION_BROWSER_ARTIFACTS/<test>/`` when set, else the
test's tmp_path), so a failure, or the look of a figure, can be checked by eye.

Needs chromium (`apt-get install chromium`); without it the test is skipped, except when
CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.browser import lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WINDOW = {"width": 1400, "height": 1000}
TOLERANCE_PX = 1.0  # sub-pixel rounding of bounding boxes

CASES = {  # notebook -> seconds for everything in the browser
    "01_crystals_as_graphs": 170.0,
    "02_cgcnn": 200.0,
    "03_alignn": 240.0,
    "04_attention_potentials": 200.0,
    "05_crystalformer": 200.0,
    "06_phonons": 200.0,
}

# Each figure/widget: its output area's content width and its own width, in CSS pixels.
# Widgets nested in a widget box are measured through the outermost box.
MEASURE_JS = r"""
() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.node) return {error: 'no notebook panel'};
  const scroller = panel.node.querySelector('.jp-WindowedPanel-outer') || panel.node;
  const items = [];
  const cells = [...panel.node.querySelectorAll('.jp-Cell')];
  cells.forEach((cell, c) => {
    // one output: a prompt, then the output node (a plotly mime renderer replaces it)
    cell.querySelectorAll('.jp-OutputArea-child').forEach((child) => {
      const box = child.getBoundingClientRect();
      const prompt = child.querySelector('.jp-OutputArea-prompt');
      const left = prompt ? prompt.getBoundingClientRect().right : box.left;
      const right = box.right - parseFloat(getComputedStyle(child).paddingRight);
      const nodes = [...child.querySelectorAll('.js-plotly-plot, .jupyter-widgets')]
        .filter((n) => !(n.parentElement && n.parentElement.closest(
          '.js-plotly-plot, .jupyter-widgets.widget-container, .jupyter-widgets.widget-box')));
      nodes.forEach((n, k) => {
        const r = n.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) return;
        const kind = n.classList.contains('js-plotly-plot') ? 'plotly' : 'widget';
        const inner = Math.max(n.scrollWidth - n.clientWidth, 0);
        items.push({cell: c, index: k, kind, classes: n.className.toString().slice(0, 120),
                    width: r.width, height: r.height, area: right - left,
                    over: r.right - right, scroll: inner});
      });
    });
  });
  return {items, column: panel.node.getBoundingClientRect().width,
          panel_scroll: scroller.scrollWidth - scroller.clientWidth};
}
"""

SHOW_FILE_BROWSER_JS = r"""
async () => {
  const app = window.jupyterapp;
  if (!app) return 'no app';
  app.shell.expandLeft();
  app.shell.activateById('filebrowser');
  return app.shell.leftCollapsed ? 'collapsed' : 'open';
}
"""

# Change every <select> of every widget to its next option (dispatching a change event, as
# a user's choice does), so that the explorers redraw.
CHANGE_SELECTS_JS = r"""
() => {
  const panel = window.jupyterapp.shell.currentWidget.node;
  let n = 0;
  panel.querySelectorAll('.jupyter-widgets select').forEach((s) => {
    if (s.options.length < 2) return;
    s.selectedIndex = (s.selectedIndex + 1) % s.options.length;
    s.dispatchEvent(new Event('change', {bubbles: true}));
    n += 1;
  });
  return n;
}
"""


@pytest.fixture
def chromium_path() -> str:
    return lab.require_browser(lab.REQUIRED_MODULES)


@pytest.fixture
def lab_server(request, tmp_path):
    with lab.serve_notebook(request.param, tmp_path, timeout=45.0) as served:
        yield served


@pytest.mark.parametrize(
    ("lab_server", "budget_s"),
    [pytest.param(lab.NOTEBOOKS / f"{name}.ipynb", t, id=name) for name, t in CASES.items()],
    indirect=["lab_server"],
)
def test_every_figure_fits_the_notebook_column(chromium_path, lab_server, budget_s, tmp_path,
                                                request):
    server, notebook_name = lab_server
    artifacts = lab.artifacts_dir(tmp_path, request.node.name)

    def check(page, console):
        _check_widths(page, server, notebook_name, lab.Budget(budget_s), console, artifacts)

    lab.run_in_browser(chromium_path, server, artifacts, check)


def _check_widths(page, server, notebook_name, budget, console, artifacts) -> None:
    page.set_viewport_size(WINDOW)
    t0 = time.monotonic()
    lab.open_and_run_all(page, server, notebook_name, budget)
    assert page.evaluate(SHOW_FILE_BROWSER_JS) == "open", "the file browser did not open"
    page.wait_for_timeout(2500)  # plotly and the widgets redraw for the narrower column
    before = _measure(page)
    _screenshots(page, before, artifacts / "widgets")
    changed = page.evaluate(CHANGE_SELECTS_JS)
    page.wait_for_timeout(2500 if changed else 0)
    after = _measure(page) if changed else before
    if changed:
        _screenshots(page, after, artifacts / "widgets-after-change")
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "widths.json").write_text(json.dumps({"before": before, "after": after},
                                                      indent=1))
    problems = [f"{when}: cell {i['cell']} {i['kind']} ({i['classes'][:60]}) is "
                f"{i['width']:.0f} px wide in an output area of {i['area']:.0f} px"
                + (f", {i['over']:.0f} px past its right edge" if i["over"] > 0 else "")
                + (f", scrolls by {i['scroll']} px inside" if i["scroll"] > 0 else "")
                for when, found in (("after running", before), ("after the dropdowns changed",
                                                                 after))
                for i in found["items"]
                if i["over"] > TOLERANCE_PX or i["scroll"] > TOLERANCE_PX]
    problems += [f"{when}: the notebook scrolls sideways by {found['panel_scroll']} px"
                 for when, found in (("after running", before), ("after changes", after))
                 if found["panel_scroll"] > TOLERANCE_PX]
    assert before["items"], f"{notebook_name}: no figure or widget found in the page"
    assert not problems, (f"{notebook_name} at a {WINDOW['width']} px window with the file "
                          f"browser open (notebook column {before['column']:.0f} px):\n"
                          + "\n".join(problems) + f"\nscreenshots in {artifacts}")
    lab.assert_no_errors(page, console)
    widest = max(i["width"] for i in before["items"])
    print(f"{notebook_name}: {len(before['items'])} figures/widgets, widest {widest:.0f} px of "
          f"{before['items'][0]['area']:.0f}; {changed} dropdowns changed; "
          f"{time.monotonic() - t0:.0f} s")


def _measure(page) -> dict:
    found = page.evaluate(MEASURE_JS)
    assert "error" not in found, found
    return found


def _screenshots(page, found: dict, where) -> None:
    """One PNG of the outputs of each cell that holds a figure or widget (best effort: a
    screenshot never fails the test)."""
    where.mkdir(parents=True, exist_ok=True)
    for cell in sorted({item["cell"] for item in found["items"]}):
        try:
            page.locator(".jp-Cell").nth(cell).locator(".jp-Cell-outputWrapper").screenshot(
                path=str(where / f"cell{cell:03d}.png"), timeout=5000)
        except Exception:  # noqa: BLE001 - screenshots are for people, not for the verdict
            continue
