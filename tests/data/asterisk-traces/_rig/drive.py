"""Scratch test rig: drive calls into the real Asterisk running the generated config.

Agents are SIPp UAS processes that REGISTER as the generated PJSIP endpoints;
callers are SIPp UACs from 127.0.0.2 (the trunk's identify address) that key
RFC 4733 DTMF by replaying SIPp's dtmf_2833 pcaps. One recording connection
(user `recorder`, read=all) and one as the listener's user (`centralita`,
Events: call,agent,dialplan) capture every scenario.
"""
import json
import os
import subprocess
import sys
import time
from xml.sax.saxutils import escape as xml_escape

os.environ.setdefault("AST_PREFIX", "/work/scratch/ast")
sys.path.insert(0, "/work/scratch/pbxf/_recorder")
import rec_core  # noqa: E402
from sipp_gen import (CALLER_ACK, CALLER_BYE, CALLER_INVITE, RESP_200_PLAIN,  # noqa: E402
                      _cdata, _sip_quote, agent_xml)

W = "/work/scratch/pbxf"
WORK = W + "/sipp"
PCAP = "/usr/share/sip-tester/dtmf_2833_%s.pcap"
AGENT_PORT = {"1001": 5081, "1002": 5082, "1003": 5083, "1004": 5084, "1005": 5085, "1006": 5086}
DIDS = {"tollfree": "528008906000", "vip": "525591380000"}
os.makedirs(WORK, exist_ok=True)

procs = []
_caller_n = [0]


def log(*a):
    print("%.3f" % time.time(), *a, flush=True)


def secret(login):
    return os.environ["CENTRALITA_SIP_SECRET_%s" % login]


REGISTER = """
REGISTER sip:127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:@L@@127.0.0.1>;tag=[pid]SIPpTag00[call_number]
To: <sip:@L@@127.0.0.1>
Call-ID: [call_id]
CSeq: @CSEQ@ REGISTER
Contact: <sip:@L@@[local_ip]:[local_port]>
@AUTH@Expires: 3600
Max-Forwards: 70
Content-Length: 0
"""


def register(login):
    port = AGENT_PORT[login]
    first = REGISTER.replace("@L@", login).replace("@CSEQ@", "1").replace("@AUTH@", "")
    second = REGISTER.replace("@L@", login).replace("@CSEQ@", "2").replace(
        "@AUTH@", "[authentication username=%s password=%s]\n" % (login, secret(login)))
    xml = "\n".join([
        '<?xml version="1.0" encoding="ISO-8859-1" ?>',
        '<scenario name="register %s">' % login,
        '  <send retrans="500">%s</send>' % _cdata(first),
        '  <recv response="401" auth="true"/>',
        '  <send retrans="500">%s</send>' % _cdata(second),
        '  <recv response="200"/>',
        '</scenario>', ''])
    path = "%s/register_%s.xml" % (WORK, login)
    with open(path, "w") as f:
        f.write(xml)
    cmd = ["sipp", "-i", "127.0.0.1", "-p", str(port), "-ci", "127.0.0.1", "-cp", str(port + 1000),
           "-sf", path, "-m", "1", "-nostdin", "-timeout", "10s", "127.0.0.1:5060",
           "-trace_err", "-error_file", "%s/register_%s_err.log" % (WORK, login)]
    r = subprocess.run(cmd, cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log("register", login, "rc", r.returncode)
    return r.returncode == 0


def start_agent(login, branches, plan):
    port = AGENT_PORT[login]
    xml = agent_xml(login, branches)
    xml_path = "%s/agent_%s.xml" % (WORK, login)
    plan_path = "%s/agent_%s_plan.csv" % (WORK, login)
    with open(xml_path, "w") as f:
        f.write(xml)
    with open(plan_path, "w") as f:
        f.write("SEQUENTIAL\n" + "".join("%s;\n" % p for p in plan))
    cmd = ["sipp", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-ci", "127.0.0.1",
           "-p", str(port), "-mp", str(10000 + (port - 5080) * 10), "-cp", str(port + 1000), "-aa",
           "-nostdin", "-sf", xml_path, "-inf", plan_path, "-timeout", "3000s",
           "-trace_err", "-error_file", "%s/agent_%s_err.log" % (WORK, login),
           "-trace_msg", "-message_file", "%s/agent_%s_msgs.log" % (WORK, login)]
    p = subprocess.Popen(cmd, cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    log("agent", login, "pid", p.pid, "plan", plan)
    # qualify now: a contact that failed OPTIONS while no UAS listened stays Unavail for 30 s
    for _ in range(20):
        time.sleep(0.3)
        subprocess.run(["/work/scratch/ast/run.sh", "rx", "pjsip qualify %s" % login],
                       stdout=subprocess.DEVNULL)
        time.sleep(0.2)
        out = subprocess.run(["/work/scratch/ast/run.sh", "rx", "pjsip show contacts"],
                             capture_output=True, text=True).stdout
        if any(("%s/sip:" % login) in l and (" Avail " in l or " NonQual " in l) for l in out.splitlines()):
            break
    else:
        log("agent", login, "contact NOT available")
    return p


_dtmf_uses = [0]


def dtmf_pcap(digit):
    """A copy of SIPp's RFC 4733 pcap for `digit` with a fresh RTP timestamp and sequence:
    the stock files all carry timestamp 13280, and Asterisk takes a second event with the
    same timestamp for a retransmission of the first (the digit is lost)."""
    import struct
    _dtmf_uses[0] += 1
    k = _dtmf_uses[0]
    name_ = {"#": "pound", "*": "star"}.get(digit, digit)
    d = bytearray(open(PCAP % name_, "rb").read())
    off = 24
    i = 0
    while off < len(d):
        incl = struct.unpack("<I", d[off + 8:off + 12])[0]
        pkt = off + 16
        ip = pkt + 14
        ihl = (d[ip] & 15) * 4
        udp = ip + ihl
        rtp = udp + 8
        d[udp + 6:udp + 8] = b"\0\0"  # no UDP checksum (IPv4 allows it)
        # absolute, increasing: Asterisk drops an event older than the last one seen
        struct.pack_into(">HI", d, rtp + 2, 1000 + 40 * k + i, 100000 + 16000 * k)
        i += 1
        off = pkt + incl
    path = "%s/dtmf_%03d_%s.pcap" % (WORK, k, name_)
    open(path, "wb").write(bytes(d))
    return path


def caller_xml(name, num, steps, wait_bye_ms):
    """steps: ("pause", ms) | ("dtmf", digits) ; then wait for Asterisk's BYE up to
    wait_bye_ms, else the caller sends BYE."""
    def sub(t):
        return t.replace("@NAME@", _sip_quote(name)).replace("@NUM@", num)
    out = ['<?xml version="1.0" encoding="ISO-8859-1" ?>',
           '<!DOCTYPE scenario SYSTEM "sipp.dtd">',
           '<!-- caller %s <%s>: %s, then wait %d ms for BYE -->'
           % (xml_escape(name), num, xml_escape(repr(steps)), wait_bye_ms),
           '<scenario name="caller">',
           '  <send retrans="500">%s</send>' % _cdata(sub(CALLER_INVITE)),
           '  <recv response="100" optional="true"/>',
           '  <recv response="180" optional="true"/>',
           '  <recv response="183" optional="true"/>',
           '  <recv response="200" rtd="true" rrs="true"/>',
           '  <send>%s</send>' % _cdata(sub(CALLER_ACK))]
    for kind, arg in steps:
        if kind == "pause":
            out.append('  <pause milliseconds="%d"/>' % arg)
        elif kind == "dtmf":
            for i, d in enumerate(arg):
                out.append('  <nop><action><exec play_pcap_audio="%s"/></action></nop>'
                           % dtmf_pcap(d))
                out.append('  <pause milliseconds="400"/>')
    out += ['  <recv request="BYE" timeout="%d" ontimeout="hangup"/>' % wait_bye_ms,
            '  <send>%s</send>' % _cdata(RESP_200_PLAIN),
            '  <nop next="end"/>',
            '  <label id="hangup"/>',
            '  <send retrans="500">%s</send>' % _cdata(sub(CALLER_BYE)),
            '  <recv response="200"/>',
            '  <label id="end"/>',
            '</scenario>', '']
    return "\n".join(out)


def call(label, line, num, name, steps, wait_bye_ms):
    _caller_n[0] += 1
    n = _caller_n[0]
    xml_path = "%s/caller_%s.xml" % (WORK, label)
    with open(xml_path, "w") as f:
        f.write(caller_xml(name, num, steps, wait_bye_ms))
    port, mport, cport = 5200 + 2 * n, 20000 + 10 * n, 9200 + n
    cmd = ["sipp", "-i", "127.0.0.2", "-mi", "127.0.0.2", "-ci", "127.0.0.1",
           "-p", str(port), "-mp", str(mport), "-cp", str(cport),
           "-sf", xml_path, "-s", DIDS.get(line, line), "127.0.0.1:5060", "-m", "1",
           "-nostdin", "-timeout", "1500s",
           "-trace_err", "-error_file", "%s/caller_%s_err.log" % (WORK, label),
           "-trace_msg", "-message_file", "%s/caller_%s_msgs.log" % (WORK, label)]
    p = subprocess.Popen(cmd, cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    log("caller", label, line, num, "pid", p.pid)
    return p


class Recording:
    """A scenario's recording: full AMI as `recorder`, the listener's view as `centralita`,
    and the queue_log lines written meanwhile."""

    def __init__(self, name, title):
        self.name, self.title = name, title
        self.t0 = time.monotonic()
        self.wall0 = time.time()
        self.notes = []
        self.qlog = rec_core.FileTail(rec_core.QUEUE_LOG)
        self.ami = rec_core.AmiRecorder(self.t0, os.environ["RECORDER_SECRET"], user="recorder",
                                        actor_log=self.note)
        self.view = rec_core.AmiRecorder(self.t0, os.environ["CENTRALITA_AMI_SECRET"],
                                         user="centralita", events="call,agent,dialplan")

    def note(self, actor, text, t=None):
        t = self.ami_now() if t is None else t
        self.notes.append((round(t, 3), actor, text))
        log("[%s %.3f] %s: %s" % (self.name, t, actor, text))

    def ami_now(self):
        return time.monotonic() - self.t0

    def finish(self, out_dir, idle_timeout=120.0):
        left = self.ami.wait_idle(timeout=idle_timeout, settle=4.0)
        if left:
            self.note("recorder", "channels still alive: %s" % sorted(left))
        lines = self.qlog.read_new()
        self.ami.logoff()
        self.view.logoff()
        os.makedirs(out_dir, exist_ok=True)
        self.ami.write(out_dir)
        with open(os.path.join(out_dir, "listener_ami.raw"), "wb") as f:
            f.write(bytes(self.view.raw))
        with open(os.path.join(out_dir, "queue_log"), "wb") as f:
            f.write(lines)
        with open(os.path.join(out_dir, "notes.json"), "w") as f:
            json.dump({"t0_epoch": self.wall0, "notes": self.notes}, f, indent=1,
                      ensure_ascii=False)
        log("wrote", out_dir)


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
