"""Key-event timeline of a recorded scenario (for scenario.md)."""
import json, sys
KEEP = {"Newchannel", "Hangup", "DTMFEnd", "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon",
        "AgentCalled", "AgentRingNoAnswer", "AgentConnect", "AgentComplete", "QueueMemberPause",
        "MusicOnHoldStart", "MusicOnHoldStop"}
VARS = {"QUEUESTATUS", "QUEUE_MAX_PENALTY", "CENTRALITA_ACTION", "CENTRALITA_CALLBACK_ID",
        "CENTRALITA_INCIDENT", "CENTRALITA_CONFIRM", "CENTRALITA_CHOICE", "CENTRALITA_EXIT", "CENTRALITA_SURVEY_DONE"}
out = []
for line in open(sys.argv[1] + "/ami.jsonl"):
    m = json.loads(line)
    e = m.get("Event")
    t = "%8.3f" % m["_t"]
    ch = m.get("Channel", "")
    if e in KEEP:
        extra = ", ".join("%s %s" % (k, m[k]) for k in ("Queue", "MemberName", "Digit", "Reason", "PausedReason", "HoldTime", "TalkTime", "RingTime", "Cause-txt", "Position") if m.get(k))
        out.append("%s  %-18s %-28s %s" % (t, e, ch, extra))
    elif e == "VarSet" and m.get("Variable") in VARS:
        out.append("%s  %-18s %-28s %s=%s" % (t, e, ch, m["Variable"], m["Value"]))
    elif e == "AGIExecStart":
        out.append("%s  %-18s %-28s %s" % (t, e, ch, m.get("Command")))
    elif e == "Newexten" and m.get("Application") in ("AGI", "Queue", "Read", "Record", "Playback", "Hangup"):
        out.append("%s  %-18s %-28s %s(%s) [%s]" % (t, e, ch, m["Application"], m.get("AppData", "")[:60], m.get("Context")))
print("\n".join(out))
