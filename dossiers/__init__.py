"""The dossier (hồ sơ) domain: validation of citizen input, procedure-specific
form fields, the dossier store with its status workflow, the notification
outbox and the submission backends.

Plain Python + SQLAlchemy; nothing here imports Rasa, so the action server,
the CLI and back-office scripts can all use it.
"""
