"""Many2One columns of population-scale tables kept without a FOREIGN KEY.

Set-based SQL writes these tables a million rows at a time, and PostgreSQL
checks a foreign key row by row (a trigger, a look-up and a lock of the
referenced row for each inserted row): at 1,000,000 households each
foreign key costs 5-12 s of an INSERT ... SELECT, whose rows alone take
7 s. A foreign key is kept where it is the only guarantee; two kinds of
column do without:

- **copies** (`_copied_references = {column: source}`): `column` holds
  the value of `source.column`, e.g. a payment's cycle and payee are those
  of its entitlement. The database keeps the guarantee through the chain:
  the row references its source with a real foreign key (RESTRICT), and
  the source references the value with a real one. A row created or
  changed through the ORM must hold its source's value, which is stricter
  than a foreign key.
- **snapshots of areas** (`_area_snapshots = {column}`): the registrant's
  area when the row was written. `spp.area` changes only through the ORM
  (its nested set needs it), which applies the Many2One's `ondelete` in
  Python on every backend (`ModelSQL.delete`; SQLite has no foreign keys
  at all).
"""
from trytond.i18n import gettext
from trytond.model.exceptions import ValidationError


class CopiedReferenceError(ValidationError):
    pass


class CopiedReferenceMixin:
    "Leave out the foreign keys of copied and area snapshot columns."
    __slots__ = ()
    _copied_references = {}
    _area_snapshots = set()

    @classmethod
    def __table_handler__(cls, module_name=None, history=False):
        handler = super().__table_handler__(module_name, history=history)
        add_fk = handler.add_fk
        unchecked = cls._copied_references.keys() | cls._area_snapshots

        def add_fk_unless_unchecked(columns, reference, ref_columns=None,
                on_delete=None):
            names = [columns] if isinstance(columns, str) else columns
            if set(names) <= unchecked:
                # Also drops the key a database made before.
                handler.drop_fk(columns, ref_columns)
            else:
                add_fk(columns, reference, ref_columns=ref_columns,
                    on_delete=on_delete)
        handler.add_fk = add_fk_unless_unchecked
        return handler

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        copied = cls._copied_references
        if field_names is not None and not (
                set(copied) | set(copied.values())) & set(field_names):
            return
        for record in records:
            for column, source in copied.items():
                origin = getattr(record, source)
                if origin and getattr(record, column) != getattr(
                        origin, column):
                    raise CopiedReferenceError(gettext(
                            'spp_programs.msg_copied_reference',
                            field=cls.__names__(column)['field'],
                            source=cls.__names__(source)['field'],
                            origin=origin.rec_name))
