"""agreements per tenant: one tenant's publication is never another tenant's current agreement

Revision ID: 0003t
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003t"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Versions published before agreements were per tenant belonged to everyone; they stay with the
    # tenant called "default" (the tenant of keys created without one).
    with op.batch_alter_table("agreement_versions") as batch:
        batch.add_column(sa.Column("tenant", sa.String(128), nullable=False, server_default="default"))
        batch.drop_constraint("uq_agreement_versions_kind_version", type_="unique")
        batch.create_unique_constraint(
            "uq_agreement_versions_tenant_kind_version", ["tenant", "kind", "version"]
        )


def downgrade() -> None:
    with op.batch_alter_table("agreement_versions") as batch:
        batch.drop_constraint("uq_agreement_versions_tenant_kind_version", type_="unique")
        batch.create_unique_constraint("uq_agreement_versions_kind_version", ["kind", "version"])
        batch.drop_column("tenant")
