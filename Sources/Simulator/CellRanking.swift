/// A matrix cell's figures, as the ranked table shows them.
public struct RankedCell: Sendable {
    public var seq: Int
    public var name: String
    /// The cell's axes, as JSON.
    public var settings: String
    public var summary: SimulationSummary
    /// The worker's CPU time per request, seconds.
    public var cpuPerRequest: Double?

    public init(seq: Int, name: String, settings: String, summary: SimulationSummary, workerCPU: Double?) {
        self.seq = seq
        self.name = name
        self.settings = settings
        self.summary = summary
        cpuPerRequest = workerCPU.flatMap { summary.requests > 0 ? $0 / Double(summary.requests) : nil }
    }

    /// Best first: the reward a validator would give, then complete answers, then the earliest
    /// first chunk.
    public static func ranked(_ cells: [RankedCell]) -> [RankedCell] {
        cells.sorted { a, b in
            let (x, y) = (a.summary, b.summary)
            if (x.meanReward ?? -1) != (y.meanReward ?? -1) { return (x.meanReward ?? -1) > (y.meanReward ?? -1) }
            let (cx, cy) = (Double(x.complete) / Double(max(x.requests, 1)), Double(y.complete) / Double(max(y.requests, 1)))
            if cx != cy { return cx > cy }
            return (x.firstChunkP50 ?? .infinity) < (y.firstChunkP50 ?? .infinity)
        }
    }
}

extension SimulationStore.RunRecord {
    public var rankedCells: [RankedCell] {
        RankedCell.ranked(cells.map { cell in
            RankedCell(
                seq: cell.seq, name: cell.name, settings: cell.settings,
                summary: SimulationSummary(cell.results, wallSeconds: cell.wallSeconds), workerCPU: cell.workerCPU
            )
        })
    }
}
