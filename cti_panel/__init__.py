"""The CTI panel: a Flask app for agents (screen-pop, incidents) and supervisors (wallboard).

`cti_panel.app.create_app` is the only entry point; the CLI, the demo and the tests all
build the app through it so that security settings can never be skipped by one of them.
Nothing is imported here, so `centralita ivr` or `centralita listener` never load Flask.
"""
