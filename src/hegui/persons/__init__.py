"""Persons: the registry of real people whose name, likeness or voice a provider protects, and the
``persona`` check that refuses unauthorized depiction, impersonation or voice cloning of them.

`model` holds the pure types (persons, authorizations, an immutable snapshot); `importer` reads CSV and
XLSX tables; `check` and `factory` are the guard check. The records room stores the registry
(`hegui.records.persons_store`); the check only ever sees a snapshot taken at start-up or reload.
Nothing about any real person ships in the package: a provider fills the registry (docs/persons.md).
"""
