"""Toll-free line during office hours: a new incident per category (survey after the
agent hangs up), status by number, and a hang-up in the main menu."""
import sys, time
sys.path.insert(0, "/work/scratch/pbxf")
from drive import *
from scenarios import answer

MEMBERS = {
    "1001": {"general_en": 3, "general_es": 3, "network_en": 0, "network_es": 0},
    "1002": {"erp_es": 0, "general_es": 5},
    "1003": {"email_en": 0, "email_es": 0, "general_en": 1, "general_es": 1, "hardware_en": 2, "hardware_es": 2},
    "1004": {"general_es": 3, "hardware_es": 0, "network_es": 5},
}
CATEGORIES = [("network", "1", "1001"), ("email", "2", "1003"), ("erp", "3", "1002"), ("hardware", "4", "1004")]
CALLERS = ["+524778056747", "+524772354318", "+524779225646", "+524776983360", "+525528909714"]
which = sys.argv[1:] or ["categories", "survey_hangup", "status", "hangup"]

if "categories" in which:
    for login in MEMBERS:
        start_agent(login, {"a": answer(2000, 5000)}, ["a"] * 20)
    first = True
    for n, (cat, digit, agent) in enumerate(CATEGORIES):
        rec = Recording("new_incident_" + cat, "new incident, category %s, answered; survey after the agent hangs up" % cat)
        if first:
            for login, queues in MEMBERS.items():
                for q, pen in queues.items():
                    rec.ami.action("QueueAdd", [("Queue", q), ("Interface", "PJSIP/" + login),
                                                ("Penalty", str(pen)), ("MemberName", login)])
            rec.note("rig", "agents 1001-1004 logged in to all their queues (penalties from skill levels); each answers after 2 s and hangs up after 5 s")
            first = False
        else:
            rec.note("rig", "agents 1001-1004 still logged in from new_incident_network")
        time.sleep(1.0)
        p = call("cat_" + cat, "tollfree", CALLERS[n], "Caller %d" % n,
                 [("pause", 2000), ("dtmf", "1"), ("pause", 2000), ("dtmf", "1"), ("pause", 2000),
                  ("dtmf", digit), ("pause", 14800), ("dtmf", "5")], 30000)
        rec.note("caller", "keys 1 (espanol) +2 s, 1 (new incident) ~+4.4 s, %s (%s) ~+6.8 s, 5 (survey) ~+22 s" % (digit, cat))
        p.wait(200)
        rec.finish(W + "/out/new_incident_" + cat)

if "survey_hangup" in which:
    rec = Recording("survey_hangup", "new incident (network), answered; the caller hangs up during the survey")
    rec.note("rig", "agents 1001-1004 still logged in (1001 answers network_es after 2 s, hangs up after 5 s)")
    p = call("survey_hangup", "tollfree", CALLERS[4], "Caller survey hangup",
             [("pause", 2000), ("dtmf", "1"), ("pause", 2000), ("dtmf", "1"), ("pause", 2000),
              ("dtmf", "1")], 15000)
    rec.note("caller", "keys 1, 1, 1 (network) as in new_incident_network, then hangs up (BYE) ~15 s later: a few seconds into the survey prompt")
    p.wait(120)
    rec.finish(W + "/out/survey_hangup")

if "status" in which:
    rec = Recording("status_by_number", "status of incident 2 by number, then no agent: goodbye")
    p = call("status", "tollfree", CALLERS[0], "Caller status",
             [("pause", 2000), ("dtmf", "1"), ("pause", 2000), ("dtmf", "2"), ("pause", 2000), ("dtmf", "2#")], 60000)
    rec.note("caller", "keys 1 +2 s, 2 (status) ~+4.4 s, 2# (incident 2) ~+6.8 s, then nothing: waits for Asterisk's BYE")
    p.wait(200)
    rec.finish(W + "/out/status_by_number")

if "hangup" in which:
    rec = Recording("hangup_mid_menu", "the caller hangs up in the main menu")
    p = call("hangup", "tollfree", CALLERS[1], "Caller hangup",
             [("pause", 2000), ("dtmf", "1")], 5000)
    rec.note("caller", "keys 1 +2 s, then hangs up (BYE) ~5.4 s later, during GET DATA main_menu")
    p.wait(60)
    rec.finish(W + "/out/hangup_mid_menu")

stop_all()
