"""indexes for scale: dashboard order, newer revision lookup, a risk's measures

Revision ID: 0f9dfc74b204
Revises: 5e7c2a9d4b31
Create Date: 2026-11-22 02:00:00.000000

Found by benchmarks/scale.py (10,000 assessments, 100 organisations): the dashboard sorted all of an
organisation's assessments for every page, the overview of an approved assessment scanned the whole table
for a newer revision, and loading a risk's measures scanned all of measure_risks.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0f9dfc74b204'
down_revision = '5e7c2a9d4b31'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index('ix_assessments_org_updated', ['organisation_id', 'updated_at'], unique=False)
        batch_op.create_index('ix_assessments_previous_revision_id', ['previous_revision_id'], unique=False)
    with op.batch_alter_table('measure_risks', schema=None) as batch_op:
        batch_op.create_index('ix_measure_risks_risk_id', ['risk_id'], unique=False)


def downgrade():
    with op.batch_alter_table('measure_risks', schema=None) as batch_op:
        batch_op.drop_index('ix_measure_risks_risk_id')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_assessments_previous_revision_id')
        batch_op.drop_index('ix_assessments_org_updated')
