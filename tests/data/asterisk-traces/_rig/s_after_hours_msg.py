import sys
sys.path.insert(0, "/work/scratch/pbxf")
from drive import *

rec = Recording("after_hours_message", "after hours: the caller leaves a message and hangs up while recording")
rec.note("rig", "tollfree line, office calendar closed (Friday 13:00-15:00 lunch break, America/Mexico_City)")
p = call("ahm", "tollfree", "+524772354318", "Adriana Romero",
         [("pause", 2000), ("dtmf", "1"), ("pause", 21000), ("dtmf", "2")], 17000)
rec.note("caller", "keys 1 at +2 s, 2 (message) at ~+23.4 s, then silence; hangs up (BYE) ~17 s later, while Record() runs")
p.wait(120)
rec.finish(W + "/out/after_hours_message")
stop_all()
