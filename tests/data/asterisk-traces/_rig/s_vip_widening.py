import sys, time
sys.path.insert(0, "/work/scratch/pbxf")
from drive import *
from scenarios import answer, NOANSWER

rec = Recording("vip_widening_survey", "VIP caller: the best agent never answers, autopause, widening to the next band, survey after the agent hangs up")
start_agent("1003", {"n": NOANSWER}, ["n"] * 5)
start_agent("1001", {"a": answer(2000, 6000)}, ["a"] * 5)
time.sleep(1.5)
for login, pen in (("1003", 1), ("1001", 3)):
    rec.ami.action("QueueAdd", [("Queue", "general_es"), ("Interface", "PJSIP/" + login),
                                ("Penalty", str(pen)), ("MemberName", login)])
rec.note("rig", "general_es members: 1003 penalty 1 (never answers), 1001 penalty 3 (answers after 2 s, hangs up after 6 s of talk); VIP rule starts at QUEUE_MAX_PENALTY=1, 15 s -> 4")
time.sleep(1.0)
p = call("vip", "vip", "+524779225646", "Ricardo Sanchez",
         [("pause", 2000), ("dtmf", "1"), ("pause", 2000), ("dtmf", "0"), ("pause", 34000), ("dtmf", "4")], 30000)
rec.note("caller", "keys 1 (espanol) at +2 s, 0 (agent) at ~+4.4 s, 4 (survey) at ~+38.8 s; waits up to 30 s more for BYE")
p.wait(200)
rec.finish(W + "/out/vip_widening_survey")
for login in ("1003", "1001"):
    r = subprocess.run(["/work/scratch/ast/run.sh", "rx", "queue remove member PJSIP/%s from general_es" % login])
stop_all()
