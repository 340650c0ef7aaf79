import Chain
import LogStore

extension StandingRecord {
    /// A configured hotkey's standing in a fresh snapshot; unregistered when no neuron has it.
    init(metagraph: ChainMetagraph, miner: String, hotkey: String, at: Double) {
        self.init(at: at, miner: miner, hotkey: hotkey, network: metagraph.network, netuid: metagraph.netuid,
                  block: metagraph.block, tempo: metagraph.tempo, registered: false)
        guard let neuron = metagraph.neurons.first(where: { $0.hotkey == hotkey }) else { return }
        registered = true
        uid = neuron.uid
        stake = neuron.stake
        rank = neuron.rank
        trust = neuron.trust
        incentive = neuron.incentive
        emission = neuron.emission
        lastUpdate = neuron.lastUpdate
        registrationBlock = neuron.blockAtRegistration
        immunityLeft = metagraph.immunityLeft(neuron)
    }
}
