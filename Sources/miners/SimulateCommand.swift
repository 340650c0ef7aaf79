import ArgumentParser
import Config
import Foundation
import Simulator

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Act as validators: send signed requests to a miner and report what they would score.",
        discussion: """
            Each request is signed with sr25519 as bittensor's dendrite signs it (fresh nonce, \
            its own uuid, the body hash, the miner's hotkey) by one of --validators simulated \
            validator hotkeys (made from the names validator-1, validator-2, ...; a miner with a \
            blacklist must allow them). The answer is read as the dendrite reads it: one total \
            deadline (--timeout) over connect and body, each read decoded on its own. STATUS is \
            what the dendrite would report: 200, 408 (the validator's deadline passed first), \
            400 (the stream was cut), 422 (unreadable), 503 (no connection) or the miner's refusal.

            Questions (--question-style; --question TEXT asks one of your own instead):
              einstein  \(QuestionStyle.einstein.summary) (the default)
              problem   \(QuestionStyle.problem.summary)
              plain     \(QuestionStyle.plain.summary)
            Each arithmetic question is the same in every run for its position.

            COMPLETE: "the final answer is:" arrived; PARTIAL: something else arrived; EMPTY: \
            nothing did. REWARD is the einstein validator's math_score of the answer against \
            the question's reference (arithmetic questions know it): the numbers of the line \
            after the first "the final answer is" (else of the whole answer) paired with the \
            reference's, 1 when equal, less by the relative error. Chunks with more than --oversize-words words count as \
            OVERSIZE (SN1 penalises chunks over 200 tokens).

            Bounded: --requests and --max-duration; loopback only unless --allow-remote.
            """
    )

    @Option(name: .long, help: "A config file: with --miner, the target's host, port and hotkey come from it.")
    var config: String?

    @Option(name: .long, help: "The miner to target, by its name in --config.")
    var miner: String?

    @Option(name: .long, help: "The miner's host.") var host = "127.0.0.1"
    @Option(name: .long, help: "The miner's port.") var port: Int?
    @Option(name: .long, help: "The miner's hotkey (SS58), which requests are signed for.") var hotkey: String?

    @Option(name: .long, help: "How many requests to send.") var requests = 20
    @Option(name: .long, help: "Requests in flight at most.") var concurrency = 1
    @Option(name: .long, help: "Requests started per second at most (default: as fast as --concurrency allows).") var rate: Double?
    @Option(name: .long, help: "The validator's budget per request in seconds: 17 as the einstein validator, 10 as SN1.") var timeout = 17.0
    @Option(name: .long, help: "How many validator hotkeys take turns.") var validators = 1
    @Option(name: .long, help: "How arithmetic questions are posed: einstein (the validator's query), problem (the bare LaTeX problem) or plain (What is A op B?).") var questionStyle = QuestionStyle.einstein
    @Option(name: .long, help: "Ask this question every time (default: arithmetic questions, different each time, with known answers).") var question: String?
    @Option(name: .long, help: "The right answer to --question, to score rewards.") var reference: Double?
    @Option(name: .long, help: "No request starts after this many seconds.") var maxDuration = 600.0
    @Option(name: .long, help: "Words per chunk above which it counts as oversize.") var oversizeWords = 200
    @Option(name: .long, help: "Store every request's outcome as a run in this database (sim_* tables; see `miners status --run`).") var db: String?
    @Flag(name: .long, help: "Allow a target that is not on this machine.") var allowRemote = false
    @Flag(name: .long, help: "Print the summary as JSON.") var json = false
    @Flag(name: .long, help: "Print one line per request.") var verbose = false

    func validate() throws {
        guard requests > 0, concurrency > 0, validators > 0 else {
            throw ValidationError("--requests, --concurrency and --validators must be at least 1")
        }
        guard timeout > 0, maxDuration > 0, rate.map({ $0 > 0 }) ?? true else {
            throw ValidationError("--timeout, --max-duration and --rate must be positive")
        }
        guard config != nil || (port != nil && hotkey != nil) else {
            throw ValidationError("give the target: --config FILE --miner NAME, or --port PORT --hotkey SS58")
        }
        if config != nil && miner == nil { throw ValidationError("--config needs --miner NAME") }
        guard allowRemote || ["127.0.0.1", "localhost", "::1"].contains(host) else {
            throw ValidationError("--host \(host) is not this machine; add --allow-remote to load another machine")
        }
    }

    func target() throws -> Target {
        guard let config, let miner else { return Target(host: host, port: port!, hotkey: hotkey!) }
        do {
            let found = try MinersConfig.load(path: config).miner(named: miner)
            return Target(host: found.host == "0.0.0.0" ? "127.0.0.1" : found.host, port: port ?? found.port, hotkey: found.hotkey)
        } catch {
            printError("config error: \(error)")
            throw ExitCode(1)
        }
    }

    var profile: LoadProfile {
        var profile = LoadProfile()
        profile.requests = requests
        profile.concurrency = concurrency
        profile.rate = rate
        profile.timeout = timeout
        profile.validators = validators
        profile.maxDuration = maxDuration
        profile.questions = question.map { .fixed(text: $0, reference: reference) } ?? .arithmetic(questionStyle)
        return profile
    }

    func run() async throws {
        let target = try target()
        let httpClient = ValidatorClient.makeHTTPClient(connections: concurrency)
        var client = ValidatorClient(client: httpClient)
        client.oversizeWords = oversizeWords
        let runner = LoadRunner(client: client, profile: profile)
        let store = try db.map { try SimulationStore(path: $0) }
        let stored = try store.map { store in
            let run = try store.startRun(kind: "simulate", source: CommandLine.arguments.joined(separator: " "), load: profile.json)
            let settings = "{\"target\": \"\(target.host):\(target.port)\", \"concurrency\": \(concurrency), \"validator_timeout\": \(timeout)}"
            return (run, try store.startCell(run: run, seq: 0, name: "\(target.host):\(target.port)", settings: settings, target: "\(target.host):\(target.port)"))
        }
        let started = ContinuousClock.now
        let total = requests
        let results = await runner.run(target) { result, done in
            progress("\(done)/\(total) requests, last: \(result.status) \(result.kind.rawValue)", final: done == total)
        }
        let wall = (ContinuousClock.now - started).seconds
        try await httpClient.shutdown()
        if let store, let (run, cell) = stored {
            try store.finishCell(cell, results: results, workerCPU: nil)
            try store.finishRun(run)
            printError("stored as run \(run) in \(db!)")
        }
        let summary = SimulationSummary(results, wallSeconds: wall)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            return
        }
        if verbose {
            print(SimulationFormat.requests(results))
            print()
        }
        print(SimulationFormat.summary(summary, target: "\(target.host):\(target.port)"))
    }
}

enum SimulationFormat {
    static func requests(_ results: [ValidatorResult]) -> String {
        let header = ["#", "VALIDATOR", "STATUS", "KIND", "FIRST", "TOTAL", "CHUNKS", "REWARD", "COMPLETION"]
        let rows: [[String]] = results.enumerated().map { index, result in
            let first = result.firstChunk.map { String(format: "%.0fms", $0 * 1000) } ?? "-"
            let reward = result.reward.map { String(format: "%.2f", $0) } ?? "-"
            let completion = String(result.completion.prefix(60)).replacingOccurrences(of: "\n", with: " ")
            return [
                String(index + 1), String(result.validator.prefix(8)), String(result.status), result.kind.rawValue, first,
                String(format: "%.0fms", result.total * 1000), String(result.chunks.count), reward, completion,
            ]
        }
        return align([header] + rows)
    }

    static func summary(_ s: SimulationSummary, target: String) -> String {
        let ms = { (value: Double?) in value.map { String(format: "%.0f", $0 * 1000) } ?? "-" }
        let statuses = s.statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        return """
            target \(target): \(s.requests) requests in \(String(format: "%.2f", s.wallSeconds)) s \
            (\(String(format: "%.1f", s.requestsPerSecond))/s)
            status      \(statuses)
            answers     complete \(s.complete), partial \(s.partial), empty \(s.empty); final answer in \(String(format: "%.0f%%", s.finalAnswerRate * 100))
            reward      \(s.meanReward.map { String(format: "%.3f mean", $0) } ?? "- (no reference)")
            first chunk p50 \(ms(s.firstChunkP50)) ms, p99 \(ms(s.firstChunkP99)) ms
            latency     p50 \(ms(s.latencyP50)) ms, p99 \(ms(s.latencyP99)) ms
            chunks      \(String(format: "%.1f", s.meanChunks)) per answer, \(s.oversizeChunks) oversize
            """
    }
}

extension QuestionStyle: ExpressibleByArgument {}
