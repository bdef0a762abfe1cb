"""The CTI panel: a Flask app for agents (screen-pop, incidents) and supervisors (wallboard).

`create_app` is the only entry point; the CLI, the demo and the tests all build the
app through it so that security settings can never be skipped by one of them.
"""

from cti_panel.app import create_app

__all__ = ["create_app"]
