"""evidence files attached to a question, a risk or a measure

Revision ID: e5d1a7c3b902
Revises: fb0d42470ba8
Create Date: 2026-11-30 10:00:00.000000

A new table only: existing assessments have no evidence, and documents sealed before it carry none.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5d1a7c3b902'
down_revision = 'fb0d42470ba8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'evidence_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assessment_id', sa.Integer(), nullable=False),
        sa.Column('question_key', sa.String(length=64), nullable=True),
        sa.Column('platform', sa.String(length=32), nullable=False),
        sa.Column('risk_id', sa.Integer(), nullable=True),
        sa.Column('measure_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=100), nullable=False),
        sa.Column('description', sa.String(length=300), nullable=True),
        sa.Column('mime_type', sa.String(length=40), nullable=False),
        sa.Column('relationship', sa.Enum('Source', 'Supplement', name='relationship', native_enum=False,
                                          length=20), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('path', sa.String(length=100), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            '(CASE WHEN question_key IS NULL THEN 0 ELSE 1 END) + (CASE WHEN risk_id IS NULL THEN 0 '
            'ELSE 1 END) + (CASE WHEN measure_id IS NULL THEN 0 ELSE 1 END) = 1',
            name=op.f('ck_evidence_files_one_target')),
        sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'],
                                name=op.f('fk_evidence_files_assessment_id_assessments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['measure_id'], ['measures.id'],
                                name=op.f('fk_evidence_files_measure_id_measures'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['risk_id'], ['risks.id'],
                                name=op.f('fk_evidence_files_risk_id_risks'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'],
                                name=op.f('fk_evidence_files_uploaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_files')),
    )
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_files_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_files_measure_id'), ['measure_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_files_risk_id'), ['risk_id'], unique=False)
        batch_op.create_index('ix_evidence_files_sha256', ['sha256'], unique=False)


def downgrade():
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_files_sha256')
        batch_op.drop_index(batch_op.f('ix_evidence_files_risk_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_files_measure_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_files_assessment_id'))
    op.drop_table('evidence_files')
