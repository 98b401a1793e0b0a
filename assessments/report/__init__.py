"""Report rendering (WeasyPrint → PDF/A-3), electronic seal and PAdES signing.

Submodules are imported explicitly by callers (``from assessments.report.pdf import
render_pdf``) so that importing the package stays cheap and Flask-free.
"""
