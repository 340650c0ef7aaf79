import Config
import Foundation
import Logging
import TestSupport
import Testing
@testable import Simulator

@Suite struct MatrixTests {
    @Test func theShippedMatrixHasEveryCombination() throws {
        let matrix = try MatrixConfig.load(path: Fixtures.repository.appendingPathComponent("configs/matrix.yaml").path)
        let cells = matrix.cells
        #expect(cells.count == 2 * 2 * 1 * 2 * 1)
        #expect(cells.map(\.name) == (1...8).map { "cell-\($0)" })
        // The last axis varies fastest.
        #expect(cells[0].validatorTimeout == 1.5 && cells[1].validatorTimeout == 10 && cells[2].batchSize == 8)
        #expect(matrix.load.requests == 24 && matrix.load.validators == 3 && matrix.load.question == nil)
    }

    @Test func everyCellIsAValidMinerConfig() throws {
        let matrix = try MatrixConfig.parse(yaml: """
            axes:
              backend:
                - {kind: mock, delay_ms: 5, text: "a: \\"quoted\\" b"}
                - {kind: tgi, base_url: "http://127.0.0.1:9", stop: ["</s>", "\\n"], extra_headers: {X-A: "1"}}
              streaming_batch_size: [3]
              timeout: [request, 2.5]
            """, file: "m.yaml")
        let runner = MatrixRunner(matrix: matrix, executable: "/bin/true", logger: Logger(label: "test"))
        for cell in matrix.cells {
            let yaml = runner.cellConfig(cell, port: 18555, database: "/tmp/x.sqlite", logDirectory: "/tmp/logs")
            let config = try MinersConfig.parse(yaml: yaml, file: "cell.yaml")
            let miner = try #require(config.miners.first)
            #expect(miner.backend == cell.backend.config)
            #expect(miner.timeout == cell.timeout && miner.streamingBatchSize == 3 && miner.port == 18555)
        }
    }

    @Test func errorsNameTheLineAndAxis() {
        func error(_ yaml: String) -> String {
            do {
                _ = try MatrixConfig.parse(yaml: yaml, file: "m.yaml")
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(error("axes:\n  streaming_batch_size: [4, 0]\n") == "m.yaml:2: field 'axes.streaming_batch_size': expected an integer from 1 to 100000, got '0'")
        #expect(error("axes:\n  batch: [4]\n").hasPrefix("m.yaml:2: field 'axes': unknown key 'batch'"))
        #expect(error("axes:\n  backend: [{kind: gpt}]\n").contains("backend.kind"))
        #expect(error("load: {requests: 5}\n") == "m.yaml:1: field 'axes': is required: the settings to combine, e.g. streaming_batch_size: [4, 12]")
        #expect(error("hotkey: nope\naxes: {concurrency: [1]}\n") == "m.yaml:1: field 'hotkey': 'nope' is not an SS58 address")
    }

    /// The shipped example asks as the einstein validator does, the default; a file can choose.
    @Test func theLoadPosesQuestionsInItsStyle() throws {
        let shipped = try MatrixConfig.load(path: Fixtures.repository.appendingPathComponent("configs/matrix.yaml").path)
        let runner = MatrixRunner(matrix: shipped, executable: "/bin/true", logger: Logger(label: "test"))
        #expect(runner.baseProfile.questions == .arithmetic(.einstein))
        func style(_ load: String) throws -> QuestionStyle {
            try MatrixConfig.parse(yaml: "load: {\(load)}\naxes: {concurrency: [1]}\n", file: "m.yaml").load.questionStyle
        }
        #expect(try style("") == .einstein && style("question_style: plain") == .plain && style("question_style: problem") == .problem)
        let error = #expect(throws: ConfigError.self) { try style("question_style: latex") }
        #expect(error?.description == "m.yaml:1: field 'load.question_style': expected one of: einstein, problem, plain, got 'latex'")
    }

    func cell(_ seq: Int, reward: Double?, complete: Int, firstChunk: Double) -> RankedCell {
        let results = (0..<4).map { index in
            ValidatorResult(
                validator: "v", uuid: "\(index)", nonce: 1, timeout: 5, sentAt: 0, status: 200, statusMessage: nil,
                chunks: [.init(offset: firstChunk, bytes: 10)],
                completion: index < complete ? "the final answer is: 4" : "4 so", total: 1, oversizeChunks: 0,
                reference: reward == nil ? nil : 4
            )
        }
        var summary = SimulationSummary(results, wallSeconds: 1)
        summary.meanReward = reward
        return RankedCell(seq: seq, name: "cell-\(seq)", settings: "{}", summary: summary, workerCPU: 0.004)
    }

    @Test func rankingPutsRewardFirstThenCompleteThenSpeed() {
        let ranked = RankedCell.ranked([
            cell(1, reward: 0.5, complete: 4, firstChunk: 0.1),
            cell(2, reward: 1, complete: 2, firstChunk: 0.3),
            cell(3, reward: 1, complete: 4, firstChunk: 0.5),
            cell(4, reward: 1, complete: 4, firstChunk: 0.2),
            cell(5, reward: nil, complete: 4, firstChunk: 0.1),
        ])
        #expect(ranked.map(\.seq) == [4, 3, 2, 1, 5])
        #expect(ranked[0].cpuPerRequest == 0.001)
    }
}
