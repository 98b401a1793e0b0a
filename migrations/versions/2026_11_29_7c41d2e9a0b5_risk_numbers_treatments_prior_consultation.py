"""risk numbers, treatment decisions, cancelled measures, prior consultation record

Revision ID: 7c41d2e9a0b5
Revises: 0f9dfc74b204
Create Date: 2026-11-29 16:00:00.000000

Existing risks get their R-number in the order the register has always shown them (active first, then by
id), so a number printed before this change still names the same risk. In assessments that are still
open (draft, in review, changes requested), a residual rating lower than the inherent one without any
decided measure (status planned, in progress or done, with an owner and a due date) is set back to the
inherent rating, and the rating history says why (docs/risk-method.md). Approved and superseded
assessments keep their ratings as signed.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7c41d2e9a0b5'
down_revision = '0f9dfc74b204'
branch_labels = None
depends_on = None

RESET_REASON = ("Restrisken sattes tillbaka till den inneboende risken: ingen beslutad åtgärd (med ansvarig och "
                "datum) är kopplad till risken. / The residual rating was set back to the inherent rating: no "
                "decided measure (with an owner and a due date) is linked to the risk.")


def upgrade():
    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('treatment', sa.Enum('reduce', 'avoid', 'accept', name='treatment',
                                                           native_enum=False, length=10), nullable=True))
        batch_op.add_column(sa.Column('treatment_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('treatment_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('treatment_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_risks_treatment_by_id_users'), 'users', ['treatment_by_id'], ['id'])

    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT id, assessment_id FROM risks ORDER BY assessment_id, "
        "CASE WHEN active THEN 0 ELSE 1 END, id")).all()
    counters: dict[int, int] = {}
    for risk_id, assessment_id in rows:
        counters[assessment_id] = counters.get(assessment_id, 0) + 1
        connection.execute(sa.text("UPDATE risks SET number = :n WHERE id = :id"),
                           {"n": counters[assessment_id], "id": risk_id})

    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_risks_assessment_id_number'), ['assessment_id', 'number'])

    with op.batch_alter_table('risk_rating_changes', schema=None) as batch_op:
        batch_op.alter_column('changed_by_id', existing_type=sa.Integer(), nullable=True)

    undecided = connection.execute(sa.text(
        "SELECT r.id, r.inherent_likelihood, r.inherent_severity, r.residual_likelihood, r.residual_severity "
        "FROM risks r JOIN assessments a ON a.id = r.assessment_id "
        "WHERE a.status IN ('draft', 'in_review', 'changes_requested') "
        "AND (r.residual_likelihood <> r.inherent_likelihood OR r.residual_severity <> r.inherent_severity) "
        "AND NOT EXISTS (SELECT 1 FROM measure_risks mr JOIN measures m ON m.id = mr.measure_id "
        "WHERE mr.risk_id = r.id AND m.status IN ('planned', 'in_progress', 'done') "
        "AND m.due_date IS NOT NULL AND m.owner <> '')")).all()
    for risk_id, inherent_l, inherent_s, residual_l, residual_s in undecided:
        for field, old, new in (("residual_likelihood", residual_l, inherent_l),
                                ("residual_severity", residual_s, inherent_s)):
            if old != new:
                connection.execute(sa.text(
                    "INSERT INTO risk_rating_changes (risk_id, field, old, new, justification, changed_by_id, "
                    "changed_at) VALUES (:risk, :field, :old, :new, :why, NULL, CURRENT_TIMESTAMP)"),
                    {"risk": risk_id, "field": field, "old": old, "new": new, "why": RESET_REASON})
        connection.execute(sa.text("UPDATE risks SET residual_likelihood = inherent_likelihood, "
                                   "residual_severity = inherent_severity WHERE id = :id"), {"id": risk_id})

    op.create_table(
        'prior_consultations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assessment_id', sa.Integer(), nullable=False),
        sa.Column('requested_on', sa.Date(), nullable=True),
        sa.Column('imy_case_number', sa.String(length=64), nullable=True),
        sa.Column('answered_on', sa.Date(), nullable=True),
        sa.Column('imy_advice', sa.Text(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'],
                                name=op.f('fk_prior_consultations_assessment_id_assessments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_prior_consultations_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_prior_consultations')),
        sa.UniqueConstraint('assessment_id', name=op.f('uq_prior_consultations_assessment_id')),
    )


def downgrade():
    op.drop_table('prior_consultations')
    with op.batch_alter_table('risk_rating_changes', schema=None) as batch_op:
        batch_op.alter_column('changed_by_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_risks_assessment_id_number'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_risks_treatment_by_id_users'), type_='foreignkey')
        batch_op.drop_column('treatment_at')
        batch_op.drop_column('treatment_by_id')
        batch_op.drop_column('treatment_reason')
        batch_op.drop_column('treatment')
        batch_op.drop_column('number')
