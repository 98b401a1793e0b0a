"""users: must change password, unlock count (user administration in the browser)

Revision ID: 627b50e0277a
Revises: b3e8d1f4c6a2
Create Date: 2026-12-01 10:00:00.000000

Existing users keep their passwords (``must_change_password`` false) and start with no unlocks.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '627b50e0277a'
down_revision = 'b3e8d1f4c6a2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('unlock_count', sa.Integer(), nullable=False, server_default='0'))
    # The models give the defaults; the server defaults were only for the rows already there.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('must_change_password', existing_type=sa.Boolean(), server_default=None)
        batch_op.alter_column('unlock_count', existing_type=sa.Integer(), server_default=None)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('unlock_count')
        batch_op.drop_column('must_change_password')
