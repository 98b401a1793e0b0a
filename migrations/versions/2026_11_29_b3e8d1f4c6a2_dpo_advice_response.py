"""dpo_advice: the organisation's response (followed or not, and why) recorded apart from the DPO's advice

Revision ID: b3e8d1f4c6a2
Revises: 7c41d2e9a0b5
Create Date: 2026-11-29 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3e8d1f4c6a2'
down_revision = '7c41d2e9a0b5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dpo_advice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('response_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('followed', existing_type=sa.String(length=10), nullable=True)
        batch_op.create_foreign_key('fk_dpo_advice_response_by_id_users', 'users', ['response_by_id'], ['id'])
    # Until now one form recorded the advice and the response together: whoever recorded it answered both.
    advice = sa.table('dpo_advice', sa.column('recorded_by_id', sa.Integer), sa.column('recorded_at', sa.DateTime),
                      sa.column('response_by_id', sa.Integer), sa.column('response_at', sa.DateTime))
    op.get_bind().execute(advice.update().values(response_by_id=advice.c.recorded_by_id,
                                                 response_at=advice.c.recorded_at))


def downgrade():
    # The older schema cannot hold advice without a decision; such rows go back marked as followed, the only
    # value that older version could show without claiming a reason that was never given.
    advice = sa.table('dpo_advice', sa.column('followed', sa.String))
    op.get_bind().execute(advice.update().where(advice.c.followed.is_(None)).values(followed='yes'))
    with op.batch_alter_table('dpo_advice', schema=None) as batch_op:
        batch_op.drop_constraint('fk_dpo_advice_response_by_id_users', type_='foreignkey')
        batch_op.alter_column('followed', existing_type=sa.String(length=10), nullable=False)
        batch_op.drop_column('response_at')
        batch_op.drop_column('response_by_id')
