import sys, time
sys.path.insert(0, "/work/scratch/pbxf")
from drive import *

rec = Recording("after_hours_callback", "after hours on the toll-free line: callback, confirmed")
rec.note("rig", "tollfree line, office calendar closed (Friday 13:00-15:00 lunch break, America/Mexico_City)")
p = call("ah", "tollfree", "+524778056747", "Daniela Sanchez",
         [("pause", 2000), ("dtmf", "1"), ("pause", 21000), ("dtmf", "3"), ("pause", 1600), ("dtmf", "1")],
         40000)
rec.note("caller", "SIPp UAC from 127.0.0.2: keys 1 at +2 s (espanol), 3 at ~+23.4 s (callback), 1 at ~+25.4 s (confirm)")
p.wait(120)
rec.finish(W + "/out/after_hours_callback")
stop_all()
