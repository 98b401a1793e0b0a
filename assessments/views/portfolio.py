"""The portfolio page and its CSV (reassessment/portfolio.py; docs/reassessment.md): HTTP only."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import get_locale
from flask_login import current_user, login_required

from .. import clock, policy
from ..catalog import PLATFORMS
from ..reassessment.flags import describe
from ..reassessment.portfolio import Filters, portfolio, portfolio_csv, tool_choices, transfer_text
from ..risk.matrix import LEVEL_ORDER

bp = Blueprint("portfolio", __name__)


def _rows():
    if not policy.can_see_portfolio(current_user):
        abort(403)
    filters = Filters.parse(request.args)
    return filters, portfolio(current_user, filters, clock.today())


@bp.get("/portfolio")
@login_required
def page():
    filters, rows = _rows()
    lang = str(get_locale() or "sv")
    return render_template("assessments/portfolio.html", rows=rows, filters=filters.as_args(), today=clock.today(),
                           platforms=list(PLATFORMS), tools=tool_choices(lang), levels=list(LEVEL_ORDER),
                           transfer_text=lambda row: transfer_text(row, lang),
                           describe=lambda flag: describe(flag, lang))


@bp.get("/portfolio.csv")
@login_required
def csv():
    filters, rows = _rows()
    return Response(portfolio_csv(rows, str(get_locale() or "sv")), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="portfolj-{clock.today().isoformat()}.csv"'})
