"""A walk-in complaint in the sao web client, from the desk to its
closure, against a real trytond with every addon.

Set up through JSON-RPC: the district Ainaro (and Baucau) of a region, the
household of Ana Santos in Ainaro, the category Payment (2 working days to
acknowledge, 10 to resolve) with its subcategory Missed Payment, the team
of Ainaro (its member the caseworker, escalating to the region's team) and
a ticket of Baucau. Then, as the caseworker (Grievance Officer and
Registry Viewer of Ainaro) in sao:

- the menu has My Tickets, Team Queue, Grievances and Reports under
  Grievances, and no ERP entry (Parties, Products, Companies);
- Grievances › Grievances: a new ticket, channel Walk-in, complainant Ana
  picked from the registry (About Registrant and Area follow), category
  and subcategory (the severity follows), description; saved, it has its
  reference GRV-<year>-NNNNNN, the team of Ainaro and deadlines two and
  ten working days after its receipt;
- Print › Receipt downloads the receipt with the reference and deadlines;
- Team Queue lists it unassigned; Assign to Me; My Tickets lists it;
  Acknowledge, Start Investigation, the decision and the answer, Resolve,
  Close; the Timeline lists each step by the caseworker;
- two more calls come to Ainaro meanwhile (one three weeks old, never
  acknowledged); Reports › By Category counts Ainaro's tickets by
  category (received, open, breached, resolved in time), not Baucau's,
  in the list and the graph.

What the server stored is read through JSON-RPC at the end.

Set SPP_DOCS_SCREENSHOTS=1 to copy the screenshots docs/grievances.md
shows into docs/img (they are always kept under
test-artifacts/browser_grievance/).
"""
import datetime as dt
import re

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from trytond.modules.spp_grievance.deadline import add_working_days

from .browser import (
    ACTIVE_TAB, TIMEOUT, open_entry, registry_entries, user_session)
from .conftest import copy_log
from .test_browser_change_request import (
    button, enabled, no_dialog, press, settled_rows, wait_dialogs,
    wait_value)
from .test_browser_demo import keep, list_rows, menu_texts, open_row

PASSWORD = 'spp-test-Grievance-2024'
OFFICER = ('grv_officer', "Maria Soares")
MANAGER = ('grv_manager', "Paulo Reis")
COMPLAINANT = "Santos, Ana"
TEAM, REGIONAL_TEAM = "Ainaro District GRM", "Northern Region GRM"
DESCRIPTION = ("Ana did not receive the May payment at the Ainaro pay "
    "point: the agent said her name was not on the list.")
ANSWER = ("Your name was missing from the May payment list by mistake. "
    "The payment was issued again: collect it at the Ainaro pay point "
    "from 15 December with this reference.")
ERP_MENUS = {'Parties', 'Products', 'Companies', 'Currencies'}
# Each step of the ticket in its timeline, in order.
STEPS = ["Received", "Assigned", "Acknowledged", "Investigation Started",
    "Resolved", "Closed"]


def people(server):
    """Areas, a household, a category with deadlines, the teams, the
    caseworker and a manager, and a ticket of another district."""
    admin = server.login()

    def call(method, *args):
        return server.call(f'model.{method}', [*args, {}], session=admin)

    def one(model, domain):
        ids = call(f'{model}.search', domain, 0, None, None)
        assert len(ids) == 1, (model, domain, ids)
        return ids[0]
    region, = call('spp.area.create', [{
                'name': "Northern Region", 'code': 'GRV-N'}])
    district, other = call('spp.area.create', [
            {'name': "Ainaro", 'code': 'GRV-N-A', 'parent': region},
            {'name': "Baucau", 'code': 'GRV-N-B', 'parent': region}])
    ana, = call('party.party.create', [{
                'registrant_type': 'individual', 'family_name': "Santos",
                'given_name': "Ana", 'area': district,
                'gender': one('spp.gender', [('code', '=', 'female')])}])
    call('party.party.create', [{
                'registrant_type': 'group', 'name': "Santos household",
                'area': district,
                'group_kind': one('spp.group.kind',
                    [('code', '=', 'household')]),
                'memberships': [('create', [{'individual': ana,
                                'roles': [('add', [one(
                                                'spp.group.membership.role',
                                                [('code', '=', 'head')])])],
                                }])]}])
    officer, manager = call('res.user.create', [{
                'login': OFFICER[0], 'name': OFFICER[1],
                'password': PASSWORD,
                'groups': [('add', [
                            one('res.group',
                                [('name', '=', "Grievance Officer")]),
                            one('res.group',
                                [('name', '=', "Registry Viewer")])])],
                'spp_areas': [('add', [district])]}, {
                'login': MANAGER[0], 'name': MANAGER[1],
                'password': PASSWORD,
                'groups': [('add', [one('res.group',
                                [('name', '=', "Grievance Manager")])])]}])
    payment, = call('spp.grievance.category.create', [{
                'name': "Payment", 'code': 'payment', 'severity': 'medium',
                'ack_amount': 2, 'ack_unit': 'working_days',
                'resolution_amount': 10, 'resolution_unit': 'working_days'}])
    call('spp.grievance.category.create', [{
                'name': "Missed Payment", 'code': 'missed_payment',
                'parent': payment, 'severity': 'high'}])
    exclusion, = call('spp.grievance.category.create', [{
                'name': "Exclusion", 'code': 'exclusion', 'severity': 'high',
                'ack_amount': 48, 'ack_unit': 'hours',
                'resolution_amount': 72, 'resolution_unit': 'hours'}])
    regional, = call('spp.grievance.team.create', [{
                'name': REGIONAL_TEAM, 'code': 'GRM-N', 'level': '2',
                'manager': manager, 'areas': [('add', [region])]}])
    call('spp.grievance.team.create', [{
                'name': TEAM, 'code': 'GRM-N-A', 'level': '1',
                'manager': manager, 'members': [('add', [officer])],
                'areas': [('add', [district])],
                'categories': [('add', [payment, exclusion])],
                'escalation_team': regional}])
    phone = one('spp.grievance.channel', [('code', '=', 'phone')])
    # Baucau's ticket: the caseworker of Ainaro never sees nor counts it.
    call('spp.grievance.create', [{
                'channel': phone, 'complainant_kind': 'anonymous',
                'area': other, 'category': payment,
                'description': "Nobody came to the pay point of Baucau."}])

    def meanwhile():
        """Two calls to Ainaro's team: a missed payment of three weeks
        ago, never acknowledged (breached), and an exclusion."""
        received = dt.datetime.now().replace(microsecond=0) - dt.timedelta(
            days=21)
        call('spp.grievance.create', [{
                    'channel': phone, 'complainant_kind': 'anonymous',
                    'area': district, 'category': payment,
                    'received_on': {'__class__': 'datetime',
                        **{k: getattr(received, k) for k in [
                                'year', 'month', 'day', 'hour', 'minute',
                                'second', 'microsecond']}},
                    'description': "The pay point was closed in May."}, {
                    'channel': phone, 'complainant_kind': 'anonymous',
                    'area': district, 'category': exclusion,
                    'description': "My family was left out of the grant."}])
    return {'call': call, 'ana': ana, 'district': district,
        'officer': officer, 'meanwhile': meanwhile}


def session(browser, server, user):
    "A new browser session of `user`, its menu drawn."
    return user_session(browser, server, PASSWORD, user, accept_downloads=True)


def selected(page, name):
    "The text a selection widget of the active tab shows."
    return page.locator(f'{ACTIVE_TAB} select[name="{name}"]').first \
        .evaluate("e => e.selectedIndex < 0 ? null"
            " : e.options[e.selectedIndex].text")


def shows(page, name, text):
    "A `done` of press(): the selection widget `name` shows `text`."
    def done(timeout):
        page.wait_for_function(
            """([selector, text]) => {
                const e = document.querySelector(selector);
                return e && e.selectedIndex >= 0
                    && e.options[e.selectedIndex].text === text;
            }""", arg=[f'{ACTIVE_TAB} select[name="{name}"]', text],
            timeout=timeout)
    return done


def settle(page):
    "Let sao finish what a click started (reads, redraws)."
    page.wait_for_load_state('networkidle')
    page.wait_for_timeout(500)


def pick(page, scope, name, typed, choice):
    """Type into a Many2One and choose `choice` in its completion, until
    the widget shows it (a redraw can drop what was typed)."""
    entry = enabled(scope, f'input[name="{name}"]')
    for attempt in range(4):
        page.wait_for_load_state('networkidle')
        entry.fill('')
        entry.press_sequentially(typed, delay=50)
        option = page.locator('.dropdown-menu:visible li',
            has_text=choice).first
        try:
            option.wait_for(state='visible', timeout=10_000)
            option.click()
            settle(page)
            if entry.input_value() == choice:
                return entry
        except PlaywrightTimeoutError:
            pass
    raise AssertionError(f"{name} shows {entry.input_value()!r}, "
        f"not {choice!r}")


def open_tab(page, tab, name):
    "A page of the form's notebook."
    tab.get_by_role('tab', name=name, exact=True).click()
    settle(page)


def datetime_of(value):
    "A datetime as JSON-RPC answers it."
    assert value and value['__class__'] == 'datetime', value
    return dt.datetime(*(value[k] for k in [
                'year', 'month', 'day', 'hour', 'minute', 'second']))


def shown_datetime(value):
    "A datetime as sao shows it (en-US)."
    return value.strftime('%m/%d/%Y %H:%M:%S')


def grievance_menu(page):
    "The entries under Grievances, once expanded: the rows it adds."
    before = menu_texts(page)
    assert open_entry(page, 'Grievances') == 'menu'
    texts = menu_texts(page)
    start = texts.index('Grievances') + 1
    return texts[start:start + len(texts) - len(before)]


def file_walk_in(page, artifacts):
    """In Grievances › Grievances, a new ticket of Ana at the desk; saved.
    Return its tab."""
    assert open_entry(page, 'Grievances', nth=1) == 'tab'
    tab = page.locator(ACTIVE_TAB)
    settle(page)
    # Baucau's ticket is not listed for a caseworker of Ainaro.
    assert list_rows(tab) == [], list_rows(tab)
    tab.locator('button#new_').click()
    wait_value(page, 'input[name="channel"]', "Walk-in")
    assert selected(page, 'complainant_kind') == "A Registrant"
    assert selected(page, 'state') == "New"
    pick(page, tab, 'complainant', "Santos", COMPLAINANT)
    # The complaint is about her too, and handled where she lives.
    wait_value(page, 'input[name="registrant"]', COMPLAINANT)
    wait_value(page, 'input[name="area"]', "Ainaro")
    pick(page, tab, 'category', "Pay", "Payment")
    pick(page, tab, 'subcategory', "Miss", "Payment / Missed Payment")
    # The subcategory's severity.
    shows(page, 'severity', "High")(TIMEOUT)
    enabled(tab, 'input[name="complainant_contact"]').fill("+670 7723 4567")
    description = enabled(tab, 'textarea[name="description"]')
    description.fill(DESCRIPTION)
    # Left before saving (see the answer in the test below).
    description.blur()
    settle(page)
    keep(page, artifacts, 'new-filled.png')
    tab.locator('button#save').click()
    wait_value(page, 'input[name="reference"]', re.compile(r'^GRV-'))
    settle(page)
    no_dialog(page)
    return tab


def print_receipt(page, tab, artifacts, reference):
    "Print › Receipt; return the HTML downloaded."
    for attempt in range(3):
        settle(page)
        tab.locator('button#print').click()
        entry = page.locator('.dropdown-menu:visible a',
            has_text='Receipt').first
        try:
            entry.wait_for(state='visible', timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    # sao downloads the report it is sent (its dialog clicks the link).
    with page.expect_download() as download:
        entry.click()
    download = download.value
    assert download.suggested_filename == f'Receipt-{reference}.html', (
        download.suggested_filename)
    path = artifacts / download.suggested_filename
    download.save_as(path)
    wait_dialogs(page, 0)
    # Dates and times are joined by a no-break space.
    return path.read_text().replace('\xa0', ' ')


def test_walk_in_complaint_resolved(browser, trytond_server, artifacts):
    "A caseworker files a walk-in complaint, resolves and closes it"
    server = trytond_server
    data = people(server)
    call = data['call']
    context, page = session(browser, server, OFFICER[0])
    try:
        # The registry the caseworker reads, and the grievances.
        assert not ERP_MENUS & set(registry_entries(page))
        entries = grievance_menu(page)
        assert entries == [
            'My Tickets', 'Team Queue', 'Grievances', 'Reports'], entries
        assert not ERP_MENUS & set(menu_texts(page)), menu_texts(page)

        tab = file_walk_in(page, artifacts)
        reference = tab.locator(
            'input[name="reference"]').first.input_value()
        year = dt.date.today().year
        assert re.fullmatch(rf'GRV-{year}-\d{{6}}', reference), reference
        wait_value(page, 'input[name="team"]', TEAM)
        assert selected(page, 'state') == "New"
        assert selected(page, 'sla_status') == "On Time"
        assert selected(page, 'severity') == "High"
        wait_value(page, 'input[name="assigned_to"]', '')
        keep(page, artifacts, 'grievance-new.png', docs=True)

        # The deadlines: two and ten working days after its receipt.
        ticket, = call('spp.grievance.search_read',
            [('reference', '=', reference)], 0, None, None,
            ['received_on', 'ack_due', 'resolution_due'])
        received = datetime_of(ticket['received_on'])
        ack_due = datetime_of(ticket['ack_due'])
        resolution_due = datetime_of(ticket['resolution_due'])
        weekend = {5, 6}
        assert ack_due == add_working_days(received, 2, weekend, set())
        assert resolution_due == add_working_days(
            received, 10, weekend, set())
        open_tab(page, tab, 'Deadlines')
        wait_value(page, 'input[name="ack_due"]', shown_datetime(ack_due))
        wait_value(page, 'input[name="resolution_due"]',
            shown_datetime(resolution_due))
        keep(page, artifacts, 'grievance-deadlines.png', docs=True)

        receipt = print_receipt(page, tab, artifacts, reference)
        assert reference in receipt, receipt
        assert "Walk-in" in receipt and "Missed Payment" in receipt, receipt
        assert (f"We will answer you by {shown_datetime(resolution_due)}"
            in receipt), receipt
        # It names nobody: it can be handed over for a confidential
        # complaint too.
        assert "Santos" not in receipt, receipt
        receipt_page = context.new_page()
        receipt_page.set_viewport_size({'width': 900, 'height': 560})
        receipt_page.set_content(receipt)
        keep(receipt_page, artifacts, 'grievance-receipt.png', docs=True)
        receipt_page.close()

        # The team's queue: the ticket waits for someone to take it.
        assert open_entry(page, 'Team Queue') == 'tab'
        queue = page.locator(ACTIVE_TAB)
        queue.locator('.treeview tbody tr:visible').filter(
            has_text=reference).first.wait_for(state='visible')
        settle(page)
        rows = list_rows(queue)
        assert len(rows) == 1 and TEAM in rows[0] and 'New' in rows[0], rows
        keep(page, artifacts, 'grievance-team-queue.png', docs=True)
        open_row(page, queue, reference)
        wait_value(page, 'input[name="reference"]', reference)
        press(page, queue, 'Assign to Me', lambda timeout: expect(
                page.locator(f'{ACTIVE_TAB} input[name="assigned_to"]')
                .first).to_have_value(OFFICER[1], timeout=timeout))
        no_dialog(page)
        # Taken: the button is gone.
        expect(button(queue, 'Assign to Me')).to_have_count(0)

        # Now in the caseworker's own tickets (sao leaves out the column
        # Assigned To: the list's domain fixes it).
        assert open_entry(page, 'My Tickets') == 'tab'
        mine = page.locator(ACTIVE_TAB)
        mine.locator('.treeview tbody tr:visible').filter(
            has_text=reference).first.wait_for(state='visible')
        settle(page)
        rows = list_rows(mine)
        assert len(rows) == 1 and rows[0].startswith(reference), rows
        open_row(page, mine, reference)
        wait_value(page, 'input[name="reference"]', reference)

        press(page, mine, 'Acknowledge', shows(page, 'state', "Acknowledged"))
        no_dialog(page)
        press(page, mine, 'Start Investigation',
            shows(page, 'state', "Under Investigation"))
        no_dialog(page)
        settle(page)
        open_tab(page, mine, 'Resolution')
        wait_value(page, 'input[name="acknowledged_by"]', OFFICER[1])
        enabled(mine, 'select[name="decision"]').select_option(
            label="Upheld")
        answer = enabled(mine, 'textarea[name="resolution"]')
        answer.fill(ANSWER)
        # Leave the answer before pressing Resolve: sao redraws the form
        # when a field loses the focus, and a click meanwhile would read
        # the selections being redrawn (their first choice) and save them.
        answer.blur()
        settle(page)
        # What was not touched stays (a redraw must not reset it).
        assert (selected(page, 'priority'), selected(page, 'severity'),
            selected(page, 'decision')) == ("Normal", "High", "Upheld")
        keep(page, artifacts, 'grievance-resolution.png', docs=True)
        # Resolve saves the decision and the answer first.
        press(page, mine, 'Resolve', shows(page, 'state', "Resolved"))
        no_dialog(page)
        wait_value(page, 'input[name="resolved_by"]', OFFICER[1])
        press(page, mine, 'Close', shows(page, 'state', "Closed"))
        no_dialog(page)
        assert selected(page, 'sla_status') == "On Time"
        # Closed: the answer is final; it may be reopened or appealed.
        expect(mine.locator('textarea[name="resolution"]').first
            ).not_to_be_editable()
        button(mine, 'Reopen').wait_for(state='visible')
        button(mine, 'Appeal').wait_for(state='visible')
        assert not button(mine, 'Resolve').is_visible()

        open_tab(page, mine, 'Timeline')
        timeline = mine.locator('.form-one2many:visible').first
        steps = settled_rows(page, timeline, len(STEPS))
        for text, action in zip(steps, STEPS):
            assert action in text and OFFICER[1] in text, steps
        assert "Upheld" in steps[STEPS.index("Resolved")], steps
        assert all(TEAM in text for text in steps), steps
        keep(page, artifacts, 'grievance-timeline.png', docs=True)

        # Reports › By Category: Ainaro's tickets, without Baucau's.
        data['meanwhile']()
        assert open_entry(page, 'Reports') == 'menu'
        assert open_entry(page, 'By Category') == 'tab'
        report = page.locator(ACTIVE_TAB)
        report.locator('.treeview tbody tr:visible').filter(
            has_text='Exclusion').first.wait_for(state='visible')
        settle(page)
        # The menu folded: every column shows.
        page.locator('[data-toggle="menu"]').first.click()
        page.locator('#menu').wait_for(state='hidden')
        settle(page)
        rows = sorted(list_rows(report))
        # Received, Open, Open and Breached, Resolved, Resolved in Time,
        # Resolved in Time (%), then the average hours.
        assert len(rows) == 2, rows
        assert rows[0].startswith("Exclusion 1 1 0 0 0"), rows
        assert rows[1].startswith("Payment 2 1 1 1 1 100.0 "), rows
        keep(page, artifacts, 'grievance-report-category.png', docs=True)
        report.locator('button#switch_').click()
        graph = report.locator('.graph svg').first
        graph.wait_for(state='visible')
        settle(page)
        expect(graph).to_contain_text('Payment')
        expect(graph).to_contain_text('Exclusion')
        keep(page, artifacts, 'grievance-report-graph.png', docs=True)
        assert not page.js_errors, page.js_errors
    finally:
        keep(page, artifacts, 'officer-last.png')
        (artifacts / 'officer-errors.txt').write_text(
            '\n'.join(page.js_errors))
        copy_log(server, artifacts, 'trytond.log')
        context.close()

    # What the server stored.
    ticket, = call('spp.grievance.search_read',
        [('reference', '=', reference)], 0, None, None,
        ['state', 'decision', 'resolution', 'channel.code', 'complainant',
            'registrant', 'area', 'team.name', 'assigned_to',
            'acknowledged_by', 'resolved_by', 'closed_on', 'priority',
            'severity', 'sla_status', 'description', 'complainant_contact'])
    assert (ticket['state'], ticket['decision'], ticket['resolution'],
        ticket['sla_status']) == ('closed', 'upheld', ANSWER, 'on_time'), (
        ticket)
    assert (ticket['channel.']['code'], ticket['complainant'],
        ticket['registrant'], ticket['area'], ticket['team.']['name']) == (
        'walk_in', data['ana'], data['ana'], data['district'], TEAM), ticket
    assert {ticket['assigned_to'], ticket['acknowledged_by'],
        ticket['resolved_by']} == {data['officer']}, ticket
    assert (ticket['priority'], ticket['severity'], ticket['description'],
        ticket['complainant_contact']) == (
        'normal', 'high', DESCRIPTION, "+670 7723 4567"), ticket
    assert ticket['closed_on'], ticket
    events = call('spp.grievance.event.search_read',
        [('grievance.reference', '=', reference)], 0, None,
        [('date', 'ASC'), ('id', 'ASC')], ['action', 'user'])
    assert [e['action'] for e in events] == [
        'received', 'assigned', 'acknowledged', 'investigating', 'resolved',
        'closed'], events
    assert {e['user'] for e in events} == {data['officer']}, events
