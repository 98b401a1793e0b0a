"""Re-assessment triggers: a changed platform fact, a new catalogue version, or the EU–US Data Privacy
Framework no longer applying flags the approved assessments that relied on it (docs/reassessment.md).

``model`` (the tables), ``legal`` (installation-wide changes in the law, read by the transfer outcome),
``relied`` (what an assessment relied on: pure), ``flags`` (raising, describing and resolving flags),
``triggers`` (the three triggers), ``portfolio`` (the organisation's assessments at a glance, and its CSV),
``commands`` (the operator commands).
"""
