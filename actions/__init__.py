"""Custom actions of the tthc-bot action server (`rasa run actions`).

Thin adapters between Rasa conversations and the plain-Python layers:
`catalog` (facts and answers about procedures) and `dossiers` (forms,
submission, status, hand-off).
"""
