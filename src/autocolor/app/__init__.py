"""The web app: ``autocolor app`` serves page.py; logic.py holds what it does."""
