#!/bin/bash
# Two private Asterisk 22.10.1 instances (cdmx, mty) loaded with `centralita conf generate`
# output for a two-PBX desk with an inter-PBX trunk; then one call crosses with the header.
# Run under: flock /work/scratch/ast.lock bash run_boxes.sh
set -u
PREFIX=/work/scratch/ast
BASE=/work/scratch/crosspbx_ast
WT=/work/wt/crosspbx
PY=/work/main/.venv/bin/python
export LD_LIBRARY_PATH=$PREFIX/lib
AST=$PREFIX/sbin/asterisk
cd $BASE
rm -rf boxes; mkdir boxes
cp $WT/centralita.example.toml boxes/c.toml
cat >> boxes/c.toml <<'T'

[connections.pbxs.cdmx.ami]
host = "127.0.0.1"
port = 15038
[connections.pbxs.cdmx.trunk]
host = "127.0.0.1"
port = 15061

[connections.pbxs.mty.ami]
host = "127.0.0.1"
port = 16038
[connections.pbxs.mty.trunk]
host = "127.0.0.1"
port = 15062
T
export CENTRALITA_AMI_SECRET=rigsecret
for ep in $(grep -o 'PJSIP/[A-Za-z0-9_.-]*' boxes/c.toml | cut -d/ -f2 | sort -u); do
  v=CENTRALITA_SIP_SECRET_$(echo "$ep" | tr -c 'A-Za-z0-9\n' '_' | tr a-z A-Z); export $v=pw$ep
done
mkdir -p boxes/moh && $PY -c "import wave; w=wave.open(\"boxes/moh/silence.wav\",\"wb\"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(bytes(16000)); w.close()"
for box in cdmx mty; do
  port=$([ $box = cdmx ] && echo 15061 || echo 15062)
  d=$BASE/boxes/$box
  mkdir -p $d/etc $d/run $d/log $d/spool $d/db $d/cache
  cp -a $PREFIX/etc/asterisk/. $d/etc/
  (cd $WT && PYTHONPATH=$WT $PY -m centralita.cli conf generate --config $BASE/boxes/c.toml --out $BASE/boxes/gen \
      --trunk-host 127.0.0.9 --sip-bind 127.0.0.1:$port --moh-directory $BASE/boxes/moh) > $d/generate.txt 2>&1
  cp $BASE/boxes/gen/$box/* $d/etc/
  cat > $d/etc/asterisk.conf <<A
[directories]
astcachedir => $d/cache
astetcdir => $d/etc
astmoddir => $PREFIX/lib/asterisk/modules
astvarlibdir => $PREFIX/var/lib/asterisk
astdbdir => $d/db
astkeydir => $PREFIX/var/lib/asterisk
astdatadir => $PREFIX/var/lib/asterisk
astagidir => $PREFIX/var/lib/asterisk/agi-bin
astspooldir => $d/spool
astrundir => $d/run
astlogdir => $d/log
astsbindir => $PREFIX/sbin
[options]
documentation_language = en_US
verbose = 3
A
  cat > $d/etc/logger.conf <<L
[general]
dateformat = %F %T.%3q
[logfiles]
messages.log => notice,warning,error,verbose
L
  mkdir -p $d/log/cdr-custom $d/log/cel-custom $d/log/cdr-csv
  # the prefix's stock set removed these modules' sample files; they only fail to load
  printf 'noload => cel_sqlite3_custom.so\nnoload => cdr_sqlite3_custom.so\nnoload => pbx_ael.so\n' >> $d/etc/modules.conf
  # rig only: an "agent" on mty that answers, talks 3 s and hangs up
  printf '\n[rig-agent]\nexten => answer,1,Answer()\n same => n,Wait(3)\n same => n,Hangup()\n' >> $d/etc/extensions.conf
done
start() { d=$BASE/boxes/$1; $AST -C $d/etc/asterisk.conf </dev/null >/dev/null 2>&1 & wait $!;
  for i in $(seq 1 150); do $AST -C $d/etc/asterisk.conf -rx "core show uptime" >/dev/null 2>&1 && break; sleep 0.2; done
  timeout 60 $AST -C $d/etc/asterisk.conf -rx "core waitfullybooted" >/dev/null 2>&1; }
rx() { $AST -C $BASE/boxes/$1/etc/asterisk.conf -rx "$2"; }
stop() { d=$BASE/boxes/$1; pid=$(cat $d/run/asterisk.pid 2>/dev/null); rx $1 "core stop now" >/dev/null 2>&1;
  for i in $(seq 1 100); do kill -0 $pid 2>/dev/null || return 0; sleep 0.2; done; kill -TERM $pid; }
start cdmx; start mty
sleep 2
for box in cdmx mty; do echo "== $box: after load: WARNING/ERROR lines"; grep -cE "WARNING|ERROR" $BASE/boxes/$box/log/messages.log; grep -E "WARNING|ERROR" $BASE/boxes/$box/log/messages.log | head; done
rx mty "queue add member Local/answer@rig-agent to network_es"
echo "== versions"; rx cdmx "core show version"
sleep 3
for box in cdmx mty; do
  echo "== $box: endpoints"; rx $box "pjsip show endpoints" | grep -E "Endpoint:|Contact:" | grep -i "pbx-"
  echo "== $box: contexts"; rx $box "dialplan show centralita-xpbx-origin" | tail -3
done
# one caller transferred from cdmx to mty's network_es (a Local channel plays the caller,
# with what the IVR would have set on cdmx)
cat >> $BASE/boxes/cdmx/etc/extensions.conf <<'X'

[rig-caller]
exten => s,1,Set(CENTRALITA_CONTACT=12)
 same => n,Set(CENTRALITA_INCIDENT=345)
 same => n,Set(CENTRALITA_CATEGORY=network)
 same => n,Set(CENTRALITA_PRIORITY=high)
 same => n,Set(CENTRALITA_VIP=1)
 same => n,Goto(centralita-transfer-mty,network_es,1)
X
rx cdmx "dialplan reload" >/dev/null
rx cdmx "channel originate Local/s@rig-caller application Wait 8"
sleep 6
# a forged header straight from the trunk address: mty's own id is not an accepted origin
cat >> $BASE/boxes/cdmx/etc/extensions.conf <<'X'

[rig-forge]
exten => own,1,Dial(PJSIP/network_es@pbx-mty,5,b(centralita-xpbx-header^s^1(mty/1.2)))
exten => none,1,Dial(PJSIP/network_es@pbx-mty,5)
exten => badcaller,1,Dial(PJSIP/network_es@pbx-mty,5,b(centralita-xpbx-header^s^1(cdmx/7.7^12/345/Net work/high/1)))
exten => junk,1,Dial(PJSIP/network_es@pbx-mty,5,b(centralita-xpbx-header^s^1(cdmx/1 2)))
X
rx cdmx "dialplan reload" >/dev/null
rx cdmx "channel originate Local/own@rig-forge application Wait 3"
rx cdmx "channel originate Local/junk@rig-forge application Wait 3"
rx cdmx "channel originate Local/none@rig-forge application Wait 3"
rx cdmx "channel originate Local/badcaller@rig-forge application Wait 3"
sleep 8
stop cdmx; stop mty
for box in cdmx mty; do
  echo "== $box: log WARNING/ERROR lines"; grep -E "WARNING|ERROR" $BASE/boxes/$box/log/messages.log | head -30
  echo "== $box: count"; grep -cE "WARNING|ERROR" $BASE/boxes/$box/log/messages.log
done
echo "== mty: origin"; grep -E "CENTRALITA_ORIGIN|X-Centralita-Call|CENTRALITA_XPBX|CENTRALITA_CONTACT|CENTRALITA_CATEGORY" $BASE/boxes/mty/log/messages.log | head -40
echo "== mty: queue"; grep -E "rig-agent|AgentConnect|Local/answer" $BASE/boxes/mty/log/messages.log | head -5
echo "== cdmx: handoff"; grep -E "CENTRALITA_HANDOFF|PJSIP_HEADER" $BASE/boxes/cdmx/log/messages.log | head -10
