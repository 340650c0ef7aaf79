"""The metagraph as the real bittensor 10.5.0 sees it, as plain JSON, for comparison with the
native client.

Why: the native reader must agree with what Python miners and validators compute from the same
chain bytes (`metagraph.S` for priority, axons, permits). Pointed at the fake node, this gives the
reference answer for the recorded block.

    python bittensor_metagraph.py ws://127.0.0.1:PORT 1  > reference.json
"""
import json
import sys

import bittensor as bt
import bittensor.utils.networking as networking

# Nothing in the metagraph path asks for the public IP today; if it ever does, it must not leave
# the machine.
networking.get_external_ip = lambda: "127.0.0.1"


def reference_metagraph(url, netuid):
    """`Subtensor(network=url).metagraph(netuid)` (lite) reduced to the fields the supervisor uses.
    `stake` is `metagraph.S[uid]`, the float32 bittensor computes, widened to a Python float
    without rounding, so a native client can compare against it exactly."""
    subtensor = bt.Subtensor(network=url)
    try:
        metagraph = subtensor.metagraph(netuid)
    finally:
        subtensor.close()
    neurons = []
    for uid in range(int(metagraph.n)):
        axon = metagraph.axons[uid]
        neurons.append({
            "uid": uid,
            "hotkey": metagraph.hotkeys[uid],
            "coldkey": metagraph.coldkeys[uid],
            "stake": float(metagraph.S[uid]),
            "validator_permit": bool(metagraph.validator_permit[uid]),
            "ip": str(axon.ip),
            "port": int(axon.port),
            "ip_type": int(axon.ip_type),
            "last_update": int(metagraph.last_update[uid]),
            "active": bool(metagraph.active[uid]),
            "incentive": float(metagraph.incentive[uid]),      # float32, as `stake`
            "emission": float(metagraph.emission[uid]),
            "block_at_registration": int(metagraph.block_at_registration[uid]),
        })
    return {"netuid": int(netuid), "block": int(metagraph.block), "tempo": int(metagraph.tempo),
            "immunity_period": int(metagraph.hparams.immunity_period), "neurons": neurons}


def reference_scores(url, netuid):
    """{uid: {rank, trust, incentive, emission}} as bittensor decodes `get_neurons_lite` and
    normalises it (u16 / 65535, rao / 1e9). Its 10.5.0 Metagraph no longer carries rank and
    trust (deprecated on chain), so they come from this decoding."""
    from bittensor.utils import u16_normalized_float
    subtensor = bt.Subtensor(network=url)
    try:
        neurons = subtensor.query_runtime_api("NeuronInfoRuntimeApi", "get_neurons_lite", [netuid])
    finally:
        subtensor.close()
    return {n["uid"]: {"rank": u16_normalized_float(n["rank"]), "trust": u16_normalized_float(n["trust"]),
                       "incentive": u16_normalized_float(n["incentive"]), "emission": n["emission"] / 1e9}
            for n in neurons}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python bittensor_metagraph.py URL NETUID")
    json.dump(reference_metagraph(sys.argv[1], int(sys.argv[2])), sys.stdout)
    print()
