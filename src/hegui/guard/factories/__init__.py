"""Factories for the built-in check types, one module per family; `hegui.guard.registry` merges them.

Each module exposes ``check_types() -> dict[str, CheckFactory]``.
"""
