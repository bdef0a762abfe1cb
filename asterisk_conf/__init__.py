"""Generates the Asterisk 22 configuration and the prompt recordings from `centralita.toml`.

Deploying (the .conf files are never edited by hand):

1. ``centralita conf generate --config centralita.toml --out /etc/asterisk
   --trunk-host <carrier IP>`` writes extensions.conf, queues.conf,
   queuerules.conf, pjsip.conf, manager.conf and musiconhold.conf. Deterministic:
   the same TOML and flags give the same bytes.
2. Secrets never enter those files. pjsip.conf ends with
   ``#include "pjsip_secrets.conf"`` and manager.conf with
   ``#include "manager_secrets.conf"``; each holds ``[name](+)`` sections that
   append ``password =`` / ``secret =`` to the sections defined in the main file.
   ``generate`` writes them (mode 0600) when the environment has every value:
   ``CENTRALITA_SIP_SECRET_<ENDPOINT>`` per agent endpoint and the AMI secret's
   ``connections.ami.secret_env``. Otherwise the deployer supplies them, e.g.::

       [1001-auth](+)
       password = ...

   Asterisk refuses to load a file whose ``#include`` is missing, so a forgotten
   secret fails loudly instead of leaving an endpoint without a password.
3. ``centralita conf check --config centralita.toml --dir /etc/asterisk`` checks the
   cross-references (queues, rules, endpoints, AGI address, prompts, DIDs) and warns
   about missing secret files or a placeholder trunk address.
4. ``centralita conf prompts --config centralita.toml --out /var/lib/asterisk/sounds``
   renders every prompt to ``<lang>/centralita/<key>.wav`` (8 kHz mono 16-bit).
"""
