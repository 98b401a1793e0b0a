"""Risks (GDPR Art. 35(7)(c)–(d)): rules from answers, the 4 × 4 matrix, measures and the conclusion."""
