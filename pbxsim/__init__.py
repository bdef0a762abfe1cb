"""A stand-in Asterisk 22 speaking real AMI and FastAGI, matched against recorded traces.

Start it from code (the e2e tests, the demo and the CLI do):

    from pbxsim.sim import PbxSim
    from pbxsim.behaviour import AgentAction, NOANSWER

    async with PbxSim(cfg, speed=None, seed=1, ami_port=0, agi=("127.0.0.1", 4573),
                      queue_log_path="queue_log") as sim:      # speed=None: virtual clock
        sim.agent("PJSIP/1001", [AgentAction.answer(3, talk_s=60), NOANSWER, AgentAction.busy(1)])
        await sim.action("QueueAdd", Queue="network_es", Interface="PJSIP/1001", MemberName="Ana")
        call = sim.place_call("tollfree", "5512345678", "Ana", dtmf=hook_or_list,
                              patience=600, queue_patience=90)
        await sim.run_for(300)            # or run_until_idle(); sim.port is the AMI port

Modules: kernel (discrete-event clock), runner (virtual / paced ×speed), engine (channels,
dialplan, events), queue_model (app_queue), agi_client (res_agi over TCP), channel_actions,
profiles + cli (`centralita sim`), trace_scenarios + trace_compare (replays of the traces).
The AMI TCP server (ami_server, ami_protocol) plugs into the engine through `types.PbxEngine`.
"""
