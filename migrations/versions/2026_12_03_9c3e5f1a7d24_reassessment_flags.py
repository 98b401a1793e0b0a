"""re-assessment flags and installation-wide legal changes

Revision ID: 9c3e5f1a7d24
Revises: e5d1a7c3b902
Create Date: 2026-12-03 10:00:00.000000

New tables only: no assessment is flagged before a trigger runs (docs/reassessment.md).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9c3e5f1a7d24'
down_revision = 'e5d1a7c3b902'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reassessment_flags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('assessment_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('trigger', sa.String(length=120), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.Column('resolved_by_assessment_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'],
                                name=op.f('fk_reassessment_flags_assessment_id_assessments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_reassessment_flags_created_by_id_users')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_reassessment_flags_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['resolved_by_assessment_id'], ['assessments.id'],
                                name=op.f('fk_reassessment_flags_resolved_by_assessment_id_assessments')),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'],
                                name=op.f('fk_reassessment_flags_resolved_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reassessment_flags')),
        sa.UniqueConstraint('assessment_id', 'trigger', name=op.f('uq_reassessment_flags_assessment_id_trigger')),
    )
    with op.batch_alter_table('reassessment_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reassessment_flags_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index('ix_reassessment_flags_org_resolved', ['organisation_id', 'resolved_at'],
                              unique=False)
    op.create_table(
        'legal_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('effective_on', sa.Date(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_changes')),
        sa.UniqueConstraint('kind', name=op.f('uq_legal_changes_kind')),
    )


def downgrade():
    op.drop_table('legal_changes')
    with op.batch_alter_table('reassessment_flags', schema=None) as batch_op:
        batch_op.drop_index('ix_reassessment_flags_org_resolved')
        batch_op.drop_index(batch_op.f('ix_reassessment_flags_assessment_id'))
    op.drop_table('reassessment_flags')
