"""Import of households and individuals from CSV or XLSX files.

One row per individual; rows sharing a household_ref form a household. The
import reads the file (read_table), checks every row against the registry's
codes and the database (validate), then writes the households with
set-based SQL, or through the ORM when a trigger watches the creation of
registry records, and recomputes their indicators once
(create_households). By default one invalid row means nothing is written;
with skip_invalid the households whose rows are all valid are imported,
the others are skipped whole and reported.

The steps live in their own modules: registry_import_read (the file),
registry_import_rows (each row), registry_import_plan (checks across rows),
registry_import_write (the records' values and the ORM path) and
registry_import_bulk (the set-based path). This module runs them and is
the import's public face.

The columns are documented in docs/caseworker-import.md."""
import csv
import io
from dataclasses import dataclass, field

from trytond.pool import Pool

from . import registry_import_bulk
from . import registry_import_plan as plan_
from . import registry_import_read as read
from . import registry_import_write as write
# The import's names, as callers (the wizard, the CLI, tests, benchmarks)
# know them.
from .registry_import_plan import (  # noqa: F401
    Household, ImportPlan, skipped_rows, validate)
from .registry_import_read import (  # noqa: F401
    ImportFileError, cell_text, read_table)
from .registry_import_rows import (  # noqa: F401
    Member, Reference, RowError, _msg)
from .registry_import_write import (  # noqa: F401
    BATCH_SIZE, create_batched, create_households_orm)
from .spreadsheet import neutralise

REPORT_COLUMNS = ('row', 'column', 'household_ref', 'reason')


@dataclass
class ImportResult:
    rows: int = 0
    households: int = 0
    individuals: int = 0
    group_ids: list = field(default_factory=list)
    skipped: int = 0
    errors: list = field(default_factory=list)

    @property
    def summary(self):
        if not self.errors:
            return _msg('done', households=self.households,
                individuals=self.individuals)
        if not self.group_ids:
            return _msg('rejected', errors=len(self.errors),
                rows=len({e.row for e in self.errors}))
        return _msg('partial', households=self.households,
            individuals=self.individuals, skipped=self.skipped)


def create_households(households, reference, batch_size=BATCH_SIZE):
    """Write the households (validated) `batch_size` individuals at a time
    with set-based SQL (registry_import_bulk), or through the ORM when a
    trigger watches the creation of registry records. Return the group
    ids."""
    if not registry_import_bulk.bulk_supported():
        return write.create_households_orm(households, reference, batch_size)
    group_ids = []
    for batch in household_batches(households, batch_size):
        group_ids.extend(
            registry_import_bulk.write_households(batch, reference)[0])
    return group_ids


def household_batches(households, batch_size):
    "Lists of whole households of about `batch_size` individuals."
    batch, size = [], 0
    for household in households:
        batch.append(household)
        size += len(household.members)
        if size >= batch_size:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def import_registrants(data, filename=None, skip_invalid=False,
        batch_size=BATCH_SIZE):
    """Validate a CSV or XLSX file and import it; return an ImportResult.

    Nothing is written when a row is invalid, unless `skip_invalid`: then
    each household is imported if all its rows are valid and skipped whole
    otherwise, its other rows reported as skipped."""
    result = ImportResult()
    try:
        header, rows = read.read_table(data, filename)
    except ImportFileError as exception:
        result.errors.append(RowError('', '', exception.message))
        return result
    plan = plan_.validate(header, rows)
    result.rows, result.errors = plan.rows, list(plan.errors)
    invalid = plan.invalid
    if not plan.households or (invalid and not skip_invalid):
        result.skipped = len(plan.households)
        return result
    households = [h for r, h in plan.households.items() if r not in invalid]
    result.skipped = len(plan.households) - len(households)
    result.errors = sorted(result.errors + plan_.skipped_rows(plan),
        key=lambda e: (e.row, e.column))
    result.group_ids = create_households(
        households, plan.reference, batch_size)
    result.households = len(households)
    result.individuals = sum(len(h.members) for h in households)
    Pool().get('party.party').registry_imported(result, filename)
    return result


def error_report(errors):
    "The errors as CSV text: row, column, household_ref, reason."
    output = io.StringIO()
    writer = csv.writer(output, lineterminator='\n')
    writer.writerow(REPORT_COLUMNS)
    for error in errors:
        # Columns, references and reasons quote the file's cells.
        writer.writerow([error.row, neutralise(error.column),
                neutralise(error.household), neutralise(error.reason)])
    return output.getvalue()
