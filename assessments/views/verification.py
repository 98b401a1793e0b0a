"""Verification of documents and trails (filled in by the verification work)."""
from flask import Blueprint

bp = Blueprint("verification", __name__)
