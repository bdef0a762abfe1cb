"""The caller's half: FastAGI server, classic AGI entry point and the IVR flows.

Entry points
* ``centralita ivr --config FILE`` (``ivr.cli``): the FastAGI server on
  ``connections.fastagi`` (uvloop), until SIGINT/SIGTERM (graceful).
* ``centralita-ivr.agi [script] [--config FILE]`` (``ivr.classic_agi``): the same
  flows, one process per call, on pyst2 (``CENTRALITA_CONFIG`` also names the file);
  ``ivr.classic_setup`` prepares it the way Asterisk starts it (env file, config-relative
  SQLite, no embedded Redis, log file, greeting first).

Reply deadlines (``ivr.reply_deadlines``): a prompt-playing command is waited for as long
as its prompt lasts plus the digit timeouts and ``media_margin``; other commands get
``command_timeout``.

FastAGI scripts (``agi://host:port/<script>``, see ``ivr.app.build_handlers``)
* ``ivr``: the main IVR (``ivr.flows.main_ivr``); it ends by setting the
  contract's channel variables that differ from the dialplan's pre-AGI defaults
  (``servicedesk.routing.line_defaults``), CENTRALITA_ACTION last. The standard
  new-incident path is 8 AGI commands.
* ``voicemail``: turns the message in CENTRALITA_RECORDING into an incident and
  sets CENTRALITA_INCIDENT (idempotent per recording).
* ``callback``: stores a callback request, sets CENTRALITA_CALLBACK_ID.
* ``survey``: post-call score 1..5 onto the call record.
* anything else: a VERBOSE line and a clean return (the dialplan continues).

Layers: ``agi_protocol`` (quoting, reply parsing) → ``channel`` (the
transport-neutral ``AgiChannel``) → ``fastagi_server`` / ``classic_agi`` →
``flows`` (written once) on ``services`` (database in a thread, Redis live
state cached per server) and ``servicedesk.routing``.
"""
