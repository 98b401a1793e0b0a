"""Evidence files attached to a question, a risk or a measure, and sealed into the approved report
(docs/evidence.md): ``content`` decides what a file is and refuses hostile ones, ``model`` is its row,
``service`` attaches, lists, reads, removes and carries them into a new revision."""
