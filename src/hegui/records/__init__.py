"""Storage: the audit chain, API keys and (later) agreements, consent, conversations, the training pool.

SQLAlchemy 2 with Alembic migrations; SQLite (WAL) by default, PostgreSQL by URL. This room never
decides what content may pass (that is `guard`); it records decisions and keeps them verifiable.
"""
