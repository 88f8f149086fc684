"""The set-based SQL toolkit: what population-wide work is built from.

Every addon depends on spp_registry, so the tools live here: programs,
entitlements, payments, custom fields and the addons around the registry
(audit, change requests, grievances, reporting) import them from
`trytond.modules.spp_registry.bulk`.

Statements (statements.py)
    `typed(Model, field, value)`   a literal cast to the field's SQL type,
                                   for the select list of INSERT ... SELECT
    `number(value)`                a NUMERIC literal (SQLite and Decimal)
    `analyze_table(Model)`         fresh PostgreSQL statistics after a bulk
                                   change (a Model or a table name)
    `reserve_page_space(Model, f)` fillfactor: room for HOT updates
    `without_index_on(indexes, c)` drop single-column indexes a unique
                                   constraint already serves
    `invalidate_cache(*models)`    forget the ORM's cached values after SQL

Foreign keys once per statement (references.py)
    `guard_references(Model)`      install the statement-level check and
                                   the delete guard (at registration)
    `insert_select(Model, query)`  run an INSERT ... SELECT with the row
                                   checks off, the guarantee kept

Batches (batches.py)
    `registrant_ranges()`          party id ranges covering the registry
    `batch_size()`                 their size (`[spp_programs] batch_size`)

Rows straight into the registry's tables (writer.py)
    `BulkWriter`                   ids from sequences, COPY / executemany,
                                   history rows; `copy_text`,
                                   `copy_formatter`, `code_columns`

Each piece keeps the ORM's guarantees that matter for its use and says in
its docstring which it gives up. Program-specific parts (the running-action
lock of a program) stay in spp_programs.
"""
from .batches import batch_size, registrant_ranges
from .references import guard_references, insert_select, may_skip_row_checks
from .statements import (
    analyze_table, invalidate_cache, number, reserve_page_space, typed,
    without_index_on)
from .writer import BulkWriter, code_columns, copy_formatter, copy_text

__all__ = [
    'BulkWriter', 'analyze_table', 'batch_size', 'code_columns',
    'copy_formatter', 'copy_text', 'guard_references', 'insert_select',
    'invalidate_cache', 'may_skip_row_checks', 'number', 'registrant_ranges',
    'reserve_page_space', 'typed', 'without_index_on',
    ]
