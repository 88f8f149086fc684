"""The dashboards and charts of spp_reporting in the sao web client, on the
demo database (loaded as `make demo` loads it, see test_browser_demo.py).

In headless Chromium:

- the program manager (a Reporting Manager) opens each dashboard under
  Reporting › Dashboards and waits until sao has drawn its graphs
  (billboard.js, into svg): every chart holds data and no error dialog
  shows; a screenshot of each is kept (docs/img/reporting-<name>.png
  with SPP_DOCS_SCREENSHOTS=1);
- they open Reporting › Registry › Registry by Area as a list, set the
  report filter's Area to a region (the context form on top of the list)
  and read one row instead of one per region; a double click on it opens
  the registrants behind its figures (Open Records, keyword tree_open);
- the M&E officer of one district (a Reporting Officer) reads on the
  Registry dashboard and in Registry by Area the figures of their
  district only, rolled up to its region.
"""
import re

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .browser import ACTIVE_TAB, TIMEOUT, open_entry, user_session
from .conftest import copy_log
from .test_browser_demo import (
    PASSWORDS, Rpc, demo_server, keep, list_rows, menu_texts)
from .test_browser_grievance import pick, settle

assert demo_server  # the fixture: one demo load for this module

MANAGER = 'manager'
OFFICER = 'monitoring'
# (menu entry under Reporting › Dashboards, screenshot name)
DASHBOARDS = [
    ('Registry', 'registry'),
    ('Programs', 'programs'),
    ('Cycles and Money', 'cycles-and-money'),
    ('Payments', 'payments'),
    ('Grievances', 'grievances'),
    ('Change Requests', 'change-requests'),
    ]
# The charts the demo has nothing for: no beneficiary left a program.
EMPTY_IN_DEMO = {'Program Exits'}

VISIBLE_DIALOGS = """() => [...document.querySelectorAll('.modal-dialog')]
    .filter(element => element.offsetParent !== null).length"""
# Every chart of the board drawn: billboard.js adds its .bb-chart once
# it has the data.
CHARTS_DRAWN = """(selector) => {
    const actions = [...document.querySelectorAll(
        selector + ' .board-action')];
    return actions.length > 0 && actions.every(
        action => action.querySelector('.graph svg .bb-chart'));
}"""
# Per chart of the board: its title and the shapes that show a value.
CHARTS = """(selector) => [...document.querySelectorAll(
        selector + ' .board-action')].map(action => {
    const svg = action.querySelector('.graph svg');
    const bars = svg ? [...svg.querySelectorAll('path.bb-bar')] : [];
    const others = svg ? [...svg.querySelectorAll(
        '.bb-chart-arc path, circle.bb-circle, path.bb-line')] : [];
    const empty = svg && svg.querySelector('.bb-empty');
    return {
        title: action.querySelector('.panel-heading').innerText.trim(),
        svg: Boolean(svg),
        bars: bars.filter(bar => bar.getBBox().height > 0.5).length,
        others: others.filter(shape => {
            const box = shape.getBBox();
            return box.width > 0 || box.height > 0;
        }).length,
        empty: Boolean(empty && empty.textContent.trim()),
    };
})"""


def session(browser, server, user):
    return user_session(browser, server, PASSWORDS[user], user)


def open_below(page, parent, entry):
    """Open the menu entry `entry` shown below `parent` (Reporting has a
    Registry, Programs... as the main menu has)."""
    texts = menu_texts(page)
    index = texts.index(entry, texts.index(parent) + 1)
    return open_entry(page, entry, nth=texts[:index].count(entry))


def open_reporting(page, submenu):
    """Expand Reporting (once) and its `submenu`. Open the chart lists
    before expanding Dashboards: the entries below a submenu come right
    after it, so that Dashboards' Registry would come first."""
    if 'Dashboards' not in menu_texts(page):
        assert open_entry(page, 'Reporting') == 'menu'
    assert open_below(page, 'Reporting', submenu) == 'menu'


def wait_charts(page):
    """Wait until the board's charts are drawn and show their values
    (billboard.js grows the bars from nothing, and draws a chart again
    when its filters are read); return CHARTS."""
    page.wait_for_function(CHARTS_DRAWN, arg=ACTIVE_TAB, timeout=TIMEOUT)
    settle(page)
    try:
        page.wait_for_function(
            f"""([selector, exempt]) => ({CHARTS})(selector).every(
                chart => exempt.includes(chart.title)
                    || chart.bars || chart.others)""",
            arg=[ACTIVE_TAB, sorted(EMPTY_IN_DEMO)], timeout=30_000)
    except PlaywrightTimeoutError:
        pass  # the assertions tell which chart
    page.wait_for_timeout(1000)
    return page.evaluate(CHARTS, ACTIVE_TAB)


def keep_wide(page, artifacts, name):
    """keep() with the menu folded away, the charts drawn to the width
    they get."""
    toggle = page.locator('[data-toggle="menu"]').first
    toggle.click()
    page.evaluate("window.dispatchEvent(new Event('resize'))")
    page.wait_for_timeout(1500)
    # From the top left of the window (a click may have scrolled it).
    page.evaluate("""() => [document.scrollingElement,
        ...document.querySelectorAll('*')].forEach(element => {
            if (element.scrollTop || element.scrollLeft) {
                element.scrollTop = 0;
                element.scrollLeft = 0;
            }
        })""")
    page.wait_for_timeout(300)
    keep(page, artifacts, name, docs=True)
    toggle.click()
    page.evaluate("window.dispatchEvent(new Event('resize'))")
    page.wait_for_timeout(300)


def open_dashboard(page, name):
    # Its entries read as Reporting's submenus: remember it is expanded.
    if not getattr(page, 'spp_dashboards', False):
        open_reporting(page, 'Dashboards')
        page.spp_dashboards = True
    assert open_below(page, 'Dashboards', name) == 'tab'
    return wait_charts(page)


def open_chart_list(page, submenu, entry):
    "Reporting › submenu › entry, switched from its graph to its list."
    open_reporting(page, submenu)
    assert open_below(page, submenu, entry) == 'tab'
    tab = page.locator(ACTIVE_TAB)
    tab.locator('.graph svg .bb-chart').first.wait_for(state='attached')
    settle(page)
    tab.locator('button#switch_').click()
    tab.locator('.treeview').first.wait_for(state='visible')
    settle(page)
    return tab


def search(page, tab):
    """Search again, with the report filter as it is now (in the search
    box of the list: the filter's own comes first)."""
    entry = tab.locator('input[placeholder="Search"]:visible').last
    entry.press('Enter')
    settle(page)


def area_names(rpc, codes):
    return {a['code']: a['name'] for a in rpc.search_read('spp.area',
            [('code', 'in', codes)], ['code', 'name'])}


def test_manager_reads_every_dashboard(browser, demo_server, artifacts):
    "Each dashboard draws its charts, with data and without an error"
    context, page = session(browser, demo_server, MANAGER)
    try:
        for name, slug in DASHBOARDS:
            charts = open_dashboard(page, name)
            keep_wide(page, artifacts, f'reporting-{slug}.png')
            assert charts, name
            for chart in charts:
                assert chart['svg'] and not chart['empty'] or (
                    chart['title'] in EMPTY_IN_DEMO), (name, chart)
                if chart['title'] not in EMPTY_IN_DEMO:
                    assert chart['bars'] or chart['others'], (name, chart)
            assert not page.evaluate(VISIBLE_DIALOGS), name
        assert not page.js_errors, page.js_errors
    finally:
        copy_log(demo_server, artifacts, 'trytond-reporting.log')
        context.close()


def test_manager_filters_and_opens_records(browser, demo_server, artifacts):
    "The Area filter narrows the list; a double click opens its records"
    admin = Rpc(demo_server)
    names = area_names(admin, ['PH-01', 'PH-02'])
    region = names['PH-01']
    context, page = session(browser, demo_server, MANAGER)
    try:
        tab = open_chart_list(page, 'Registry', 'Registry by Area')
        every = list_rows(tab)
        assert len(every) >= 2, every
        assert any(names['PH-02'] in row for row in every), every
        pick(page, tab, 'area', region[:4], region)
        search(page, tab)
        for _ in range(60):
            if len(list_rows(tab)) == 1:
                break
            page.wait_for_timeout(500)
        rows = list_rows(tab)
        assert len(rows) == 1 and rows[0].startswith(region), rows
        assert rows != every
        keep_wide(page, artifacts, 'reporting-filter-area.png')

        tabs = page.locator('#tablist li').count()
        tab.locator('.treeview tbody tr:visible').first.locator(
            'td').nth(2).dblclick()
        page.wait_for_function(
            "count => document.querySelectorAll('#tablist li').length"
            " > count", arg=tabs, timeout=TIMEOUT)
        settle(page)
        records = page.locator(ACTIVE_TAB)
        records.locator('.treeview tbody tr:visible').first.wait_for(
            state='visible')
        settle(page)
        title = page.locator('#tablist li.active').inner_text()
        assert re.search(r'Part(y|ies)', title), title
        households, individuals = (int(n.replace(',', '')) for n in
            re.findall(r'[\d,]+', rows[0].removeprefix(region))[:2])
        assert list_rows(records)
        # Registrants of the region: households and individuals both.
        admin_count = admin('model.party.party.search_count', [
                ('registrant_type', '!=', None),
                ('area', 'child_of', [admin.search_read('spp.area',
                            [('code', '=', 'PH-01')], ['id'])[0]['id']],
                    'parent')])
        assert admin_count == households + individuals
        keep_wide(page, artifacts, 'reporting-open-records.png')
        assert not page.evaluate(VISIBLE_DIALOGS)
        assert not page.js_errors, page.js_errors
    finally:
        context.close()


def test_officer_reads_own_district(browser, demo_server, artifacts):
    "The M&E officer's dashboard and lists count their district only"
    admin = Rpc(demo_server)
    names = area_names(admin, ['PH-01', 'PH-01-01', 'PH-02'])
    context, page = session(browser, demo_server, OFFICER)
    try:
        tab = open_chart_list(page, 'Registry', 'Registry by Area')
        rows = list_rows(tab)
        assert rows and all(row.startswith((names['PH-01'],
                        names['PH-01-01'])) for row in rows), rows
        assert not any(names['PH-02'] in row for row in rows), rows

        charts = open_dashboard(page, 'Registry')
        assert charts and not page.evaluate(VISIBLE_DIALOGS)
        by_area = page.locator(ACTIVE_TAB).locator('.board-action').filter(
            has_text='Registry by Area').first
        # A long name is cut into lines (tspans): compared without spaces.
        labels = {re.sub(r'\s+', '', t) for t in by_area.locator(
                '.bb-axis-x .tick text').all_text_contents() if t.strip()}
        assert labels and labels <= {re.sub(r'\s+', '', names[code])
            for code in ['PH-01', 'PH-01-01']}, labels
        keep(page, artifacts, 'reporting-officer-registry.png')
        assert not page.js_errors, page.js_errors
    finally:
        page.screenshot(path=str(artifacts / 'officer-last.png'))
        copy_log(demo_server, artifacts, 'trytond-reporting-officer.log')
        context.close()
