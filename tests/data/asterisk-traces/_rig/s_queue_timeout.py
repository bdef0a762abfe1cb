import sys, time
sys.path.insert(0, "/work/scratch/pbxf")
from drive import *
from scenarios import answer

rec = Recording("queue_timeout_callback", "the only agent is on a long call: the head caller hears the periodic announcements, times out after max_wait 600 s, chooses a callback and confirms it")
start_agent("1005", {"a": answer(1000)}, ["a"] * 3)
time.sleep(1.0)
rec.ami.action("QueueAdd", [("Queue", "general_es"), ("Interface", "PJSIP/1005"),
                            ("Penalty", "0"), ("MemberName", "1005")])
rec.note("rig", "general_es: one member, 1005 penalty 0, answers after 1 s and talks until the caller hangs up")
busy = call("occupy", "vip", "+525528909714", "Daniela Rodriguez",
            [("pause", 2000), ("dtmf", "1"), ("pause", 2000), ("dtmf", "0")], 700000)
rec.note("caller", "occupying caller (VIP line, 0 = agent): talks to 1005 until ~+700 s")
time.sleep(20)
p = call("timeout", "vip", "+524776983360", "Veronica Castro",
         [("pause", 2000), ("dtmf", "1"), ("pause", 2000), ("dtmf", "0"), ("pause", 626800),
          ("dtmf", "3"), ("pause", 1600), ("dtmf", "1")], 30000)
rec.note("caller", "waiting caller (VIP line, 0 = agent), 20 s later: keys 3 (callback) at ~+632 s and 1 (confirm) at ~+634 s")
p.wait(800)
busy.wait(800)
rec.finish(W + "/out/queue_timeout_callback", idle_timeout=200)
subprocess.run(["/work/scratch/ast/run.sh", "rx", "queue remove member PJSIP/1005 from general_es"])
stop_all()
