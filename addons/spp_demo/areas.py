"""Areas of the synthetic country and the registry records the generator
refers to (genders, roles, group kind)."""
from dataclasses import dataclass

from trytond.pool import Pool


@dataclass
class Refs:
    "Ids of the registry's reference records, by code."
    genders: dict
    roles: dict
    areas: dict
    household_kind: int
    child_age: int
    elderly_age: int


def ensure_areas(plan):
    """Create the areas of the plan that are missing (matched by code),
    level by level so that parents exist first. Return {code: id}."""
    pool = Pool()
    Area = pool.get('spp.area')
    Kind = pool.get('spp.area.kind')
    kinds = {k.code: k.id for k in Kind.search([])}
    codes = [a.code for a in plan]
    existing = {}
    for start in range(0, len(codes), 1000):
        existing.update((a.code, a.id) for a in Area.search([
                    ('code', 'in', codes[start:start + 1000]),
                    ('active', 'in', [True, False]),
                    ]))
    for kind in ['country', 'region', 'district', 'locality']:
        missing = [a for a in plan if a.kind == kind
            and a.code not in existing]
        if not missing:
            continue
        # In chunks: validating a domain builds one condition per record.
        for start in range(0, len(missing), 200):
            created = Area.create([{
                        'code': a.code,
                        'name': a.name,
                        'kind': kinds.get(a.kind),
                        'parent': existing.get(a.parent),
                        } for a in missing[start:start + 200]])
            existing.update((a.code, a.id) for a in created)
    return existing


def load_refs(areas):
    pool = Pool()
    Gender = pool.get('spp.gender')
    Role = pool.get('spp.group.membership.role')
    Kind = pool.get('spp.group.kind')
    Configuration = pool.get('spp.registry.configuration')
    config = Configuration(1)
    household, = Kind.search([('code', '=', 'household')], limit=1)
    return Refs(
        genders={g.code: g.id for g in Gender.search([])},
        roles={r.code: r.id for r in Role.search([])},
        areas=areas,
        household_kind=household.id,
        child_age=config.child_age,
        elderly_age=config.elderly_age)
