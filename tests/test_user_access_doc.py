"""docs/user-access.md names every group and every group-restricted button
of the suite.

The groups and buttons are read from the XML files each addon's tryton.cfg
loads: exactly the res.group and ir.model.button records that activating
the addons creates. A new group or button fails this test until the page
says what it may do.
"""
import configparser
import re
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / 'docs' / 'user-access.md'


def addon_records(model):
    "(addon, xml id, {field: value}) of each `model` record of the addons."
    for cfg in sorted(ROOT.glob('addons/*/tryton.cfg')):
        parser = configparser.ConfigParser()
        parser.read(cfg)
        for name in parser.get('tryton', 'xml', fallback='').split():
            tree = etree.parse(str(cfg.parent / name))
            for record in tree.iter('record'):
                if record.get('model') != model:
                    continue
                yield cfg.parent.name, record.get('id'), {
                    field.get('name'): (field.get('ref')
                        or (field.text or '').strip())
                    for field in record.findall('field')}


def sections(text):
    "{heading: body} of the page's ### sections."
    parts = re.split(r'^### (.+)$', text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_every_group_has_its_section():
    groups = {f"{addon}.{xml_id}": values['name']
        for addon, xml_id, values in addon_records('res.group')}
    assert len(groups) >= 10, groups
    assert 'spp_audit.group_auditor' in groups
    headings = sections(DOC.read_text())
    missing = {
        ref: name for ref, name in groups.items()
        if f"{name} (`{ref}`)" not in headings}
    assert not missing, (
        f"docs/user-access.md has no '### <name> (`<module.xml_id>`)' "
        f"section for {missing}")


def test_every_restricted_button_is_named_for_its_groups():
    """Each button limited to groups appears, as `model` · `name`, in the
    section of every group that may press it."""
    text = DOC.read_text()
    headings = sections(text)
    names = {f"{addon}.{xml_id}": values['name']
        for addon, xml_id, values in addon_records('res.group')}
    buttons = {}
    for addon, xml_id, values in addon_records('ir.model.button'):
        buttons[f"{addon}.{xml_id}"] = values
    missing = []
    for addon, _, values in addon_records('ir.model.button-res.group'):
        button = buttons[values['button']
            if '.' in values['button'] else f"{addon}.{values['button']}"]
        group = values['group']
        group = group if '.' in group else f"{addon}.{group}"
        body = headings.get(f"{names.get(group)} (`{group}`)", '')
        # A section names a model once, then the buttons of it.
        model_at = body.find(f"`{button['model']}` ·")
        if model_at < 0 or f"`{button['name']}`" not in body[model_at:]:
            missing.append(
                f"{button['model']}.{button['name']} for {group}")
    assert not missing, (
        "docs/user-access.md does not name these buttons in the group's "
        f"section: {missing}")


def test_documented_groups_exist():
    "No section for a group the addons no longer define (suite groups)."
    refs = {f"{addon}.{xml_id}"
        for addon, xml_id, _ in addon_records('res.group')}
    documented = re.findall(r'^### .+ \(`(spp_[a-z_]+\.[a-z_]+)`\)$',
        DOC.read_text(), flags=re.M)
    assert set(documented) <= refs, set(documented) - refs
