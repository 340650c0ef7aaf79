import Config
import Foundation
import Keys
import TestSupport
import Testing
import Wire
@testable import Admission

@Suite struct NonceTableTests {
    let now = 1_800_000_000.0

    func nanoseconds(_ seconds: Double) -> Int64 { Int64(seconds * 1e9) }

    @Test func theFirstNonceMustBeInsideTheWindow() {
        let table = NonceTable()
        #expect(table.problem(key: "k", nonce: nanoseconds(now - 10), timeout: 12, now: now) == nil)
        #expect(table.problem(key: "k", nonce: nanoseconds(now - 20.13), timeout: 12, now: now)
            == "Nonce is too old: acceptable delta is 16.00 seconds but request was 20.13 seconds old")
    }

    @Test func aNonceFarInTheFutureIsRefused() {
        let table = NonceTable(maxFutureSkew: 30)
        #expect(table.problem(key: "k", nonce: nanoseconds(now + 29), timeout: 12, now: now) == nil)
        #expect(table.problem(key: "k", nonce: nanoseconds(now + 45), timeout: 12, now: now)
            == "Nonce is too far in the future: 45.00 seconds ahead of this miner's clock (at most 30.00 allowed)")
    }

    @Test func laterNoncesMustGrow() {
        let table = NonceTable()
        #expect(table.admit(key: "k", nonce: nanoseconds(now), timeout: 12, now: now) == nil)
        #expect(table.problem(key: "k", nonce: nanoseconds(now), timeout: 12, now: now + 1) == "Nonce is too old, a newer one was last processed")
        #expect(table.admit(key: "k", nonce: nanoseconds(now), timeout: 12, now: now + 1) == "Nonce is too old, a newer one was last processed")
        #expect(table.problem(key: "k", nonce: nanoseconds(now + 0.5), timeout: 12, now: now + 1) == nil)
        #expect(table.problem(key: "other", nonce: nanoseconds(now), timeout: 12, now: now + 1) == nil)
    }

    /// The header's timeout is not signed: a replay that claims a huge one gets no wider window
    /// than `max_request_timeout`, and its key is remembered for all of that window.
    @Test func aClaimedTimeoutCannotWidenTheWindowOrOutliveTheMemory() {
        let table = NonceTable(maxRequestTimeout: 60)
        #expect(table.admit(key: "k", nonce: nanoseconds(now), timeout: 12, now: now) == nil)
        // 40 s later, claiming a million seconds: remembered, so refused.
        #expect(table.admit(key: "k", nonce: nanoseconds(now), timeout: 1_000_000, now: now + 40) == "Nonce is too old, a newer one was last processed")
        // Past every possible window (4 + 60 s) the first rule refuses it, whatever it claims.
        #expect(table.admit(key: "k", nonce: nanoseconds(now), timeout: 1e300, now: now + 70)
            == "Nonce is too old: acceptable delta is 64.00 seconds but request was 70.00 seconds old")
        // Sweeps after 70 s keep it still (remembered until 4 + 60 + 1 s after its nonce).
        _ = table.admit(key: "sweeper", nonce: nanoseconds(now + 60), timeout: 12, now: now + 60)
        #expect(table.admit(key: "k", nonce: nanoseconds(now), timeout: 60, now: now + 63) == "Nonce is too old, a newer one was last processed")
    }

    /// Check and record are one step: of many simultaneous copies exactly one is admitted.
    @Test func simultaneousCopiesAdmitOne() async {
        let table = NonceTable()
        for trial in 0..<40 {
            let admitted = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<4 {
                    group.addTask { table.admit(key: "copy-\(trial)", nonce: nanoseconds(now), timeout: 12, now: now) == nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(admitted == 1)
        }
    }

    @Test func keysAreForgottenOnceNoRequestCouldBeFresh() {
        let table = NonceTable(maxRequestTimeout: 12, pruneInterval: 5)
        for second in 0..<600 {
            _ = table.admit(key: "key-\(second)", nonce: nanoseconds(now + Double(second)), timeout: 12, now: now + Double(second))
        }
        // The memory of the last 4 + 12 + 1 seconds, and up to one sweep interval more.
        #expect(table.count <= 17 + 5 + 1)
        // A forgotten key's old request is outside the window anyway.
        #expect(table.problem(key: "key-0", nonce: nanoseconds(now), timeout: 12, now: now + 599) != nil)
        // A nonce from the future is remembered until its own window has passed.
        _ = table.admit(key: "ahead", nonce: nanoseconds(now + 620), timeout: 12, now: now + 600)
        _ = table.admit(key: "sweep", nonce: nanoseconds(now + 630), timeout: 12, now: now + 630)
        #expect(table.problem(key: "ahead", nonce: nanoseconds(now + 620), timeout: 12, now: now + 630) == "Nonce is too old, a newer one was last processed")
    }

    /// Extreme values from outside: no trap, a refusal.
    @Test(arguments: [Int64.min, Int64.max, 0])
    func extremeNoncesAreRefusedWithoutTrapping(nonce: Int64) {
        let table = NonceTable()
        #expect(table.admit(key: "k", nonce: nonce, timeout: 1e308, now: now) != nil)
    }
}

@Suite struct VerificationTests {
    static let miner = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    let validator = TestValidator()
    let hash = String(repeating: "ab", count: 32)

    func headers(_ fields: [(String, String)], timeout: Double = 12) throws -> SynapseHeaders {
        var map = Dictionary(uniqueKeysWithValues: fields)
        map["timeout"] = String(timeout)
        return try SynapseHeaders.parse { map[$0] }
    }

    func message(_ admission: Admission, _ headers: SynapseHeaders) -> String? {
        do {
            try admission.verify(headers, now: Date().timeIntervalSince1970)
            return nil
        } catch {
            #expect(error.status == 401)
            return error.message
        }
    }

    @Test func aSignedRequestPassesOnceAndAReplayDoesNot() throws {
        let admission = try Admission(ownHotkey: Self.miner, config: AdmissionConfig())
        let signed = try headers(validator.headers(axonHotkey: Self.miner, bodyHash: hash))
        #expect(message(admission, signed) == nil)
        #expect(message(admission, signed) == "Not Verified with error: Nonce is too old, a newer one was last processed")
    }

    @Test func aSignatureForAnotherMinerOrBodyFails() throws {
        let admission = try Admission(ownHotkey: Self.miner, config: AdmissionConfig())
        var fields = validator.headers(axonHotkey: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", bodyHash: hash)
        let text = message(admission, try headers(fields))
        #expect(text?.hasPrefix("Not Verified with error: Signature mismatch with ") == true)
        #expect(text?.contains(".\(Self.miner).test-uuid.\(hash) and 0x") == true)
        fields = validator.headers(axonHotkey: Self.miner, bodyHash: hash).map { $0.0 == "computed_body_hash" ? ($0.0, "ff") : $0 }
        #expect(message(admission, try headers(fields))?.hasPrefix("Not Verified with error: Signature mismatch") == true)
    }

    @Test func malformedOrMissingPartsAreNamed() throws {
        let admission = try Admission(ownHotkey: Self.miner, config: AdmissionConfig())
        let good = validator.headers(axonHotkey: Self.miner, bodyHash: hash, uuid: "u1")
        func without(_ name: String) -> [(String, String)] { good.filter { $0.0 != name } }
        func replacing(_ name: String, _ value: String) -> [(String, String)] { good.map { $0.0 == name ? (name, value) : $0 } }
        let signature = good.first { $0.0 == "bt_header_dendrite_signature" }!.1
        #expect(message(admission, try headers(without("bt_header_dendrite_hotkey"))) == "Not Verified with error: Missing Hotkey")
        #expect(message(admission, try headers(without("bt_header_dendrite_nonce"))) == "Not Verified with error: Missing Nonce")
        #expect(message(admission, try headers(without("bt_header_dendrite_signature"))) == "Not Verified with error: Missing Signature")
        #expect(message(admission, try headers(replacing("bt_header_dendrite_signature", String(signature.dropFirst(2)))))
            == "Not Verified with error: Invalid signature format. Expected hex string.")
        #expect(message(admission, try headers(replacing("bt_header_dendrite_signature", String(signature.dropLast(2)))))
            == "Not Verified with error: Invalid SR25519 signature.")
        #expect(message(admission, try headers(replacing("bt_header_dendrite_hotkey", "5Grwva")))?
            .hasPrefix("Not Verified with error: Invalid hotkey 5Grwva") == true)
        // Upper-case hex digits are fine, as in bittensor-wallet.
        #expect(message(admission, try headers(replacing("bt_header_dendrite_signature", "0x" + signature.dropFirst(2).uppercased()))) == nil)
    }
}

@Suite struct BlacklistTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metagraph-\(UUID().uuidString)")
    let rich = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    let poor = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
    let stranger = "5E1srFKtKRp3G9rfdtnXeU9pdTMck6jmss1bfzZSC6nJ3rot"

    func writeMetagraph(_ neurons: String) throws -> String {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("metagraph.json").path
        try #"{"netuid": 35, "neurons": [\#(neurons)]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func reason(_ admission: Admission, _ hotkey: String) -> String? {
        do {
            _ = try admission.blacklist(hotkey)
            return nil
        } catch {
            #expect(error.status == 403)
            return error.message
        }
    }

    @Test func metagraphStakeAndPermitDecide() throws {
        var config = AdmissionConfig()
        config.metagraph = try writeMetagraph("""
            {"hotkey": "\(rich)", "uid": 1, "stake": 5000, "validator_permit": true},
            {"hotkey": "\(poor)", "uid": 2, "stake": 10.5, "validator_permit": false}
            """)
        config.minStake = 1000
        config.deny = [rich]
        var admission = try Admission(ownHotkey: rich, config: config)
        #expect(reason(admission, rich) == "Forbidden. Key is blacklisted: Hotkey \(rich) is on this miner's deny list.")
        config.deny = []
        admission = try Admission(ownHotkey: rich, config: config)
        #expect(try admission.blacklist(rich) == 5000)
        #expect(reason(admission, poor) == "Forbidden. Key is blacklisted: Stake of \(poor) (uid 2) is 10.50, below the minimum of 1000.00.")
        #expect(reason(admission, stranger)?.hasPrefix("Forbidden. Key is blacklisted: Unrecognized hotkey \(stranger)") == true)
        config.minStake = 0
        config.requireValidatorPermit = true
        admission = try Admission(ownHotkey: rich, config: config)
        #expect(reason(admission, poor) == "Forbidden. Key is blacklisted: Hotkey \(poor) (uid 2) has no validator permit.")
        config.allow = [poor, stranger]
        config.allowNonRegistered = true
        admission = try Admission(ownHotkey: rich, config: config)
        #expect(reason(admission, poor) == nil && reason(admission, stranger) == nil)
    }

    @Test func aChangedSnapshotIsPickedUpWithoutARestart() throws {
        let path = try writeMetagraph(#"{"hotkey": "\#(rich)", "uid": 1, "stake": 1}"#)
        let snapshot = try MetagraphSnapshot(path: path)
        #expect(snapshot.neuron(rich, now: 0)?.stake == 1)
        #expect(snapshot.neuron(poor, now: 0) == nil)
        Thread.sleep(forTimeInterval: 1.1)  // file times have a resolution; make the change visible
        _ = try writeMetagraph(#"{"hotkey": "\#(poor)", "uid": 2, "stake": 7}"#)
        #expect(snapshot.neuron(poor, now: 10)?.stake == 7)
        #expect(snapshot.neuron(rich, now: 10) == nil)
        Thread.sleep(forTimeInterval: 1.1)
        try "not json".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(snapshot.neuron(poor, now: 20)?.stake == 7, "a broken file keeps the last good snapshot")
        #expect(snapshot.problem?.contains("expected a JSON object") == true)
    }

    @Test func aMissingSnapshotIsAStartError() {
        var config = AdmissionConfig()
        config.metagraph = "/nonexistent/metagraph.json"
        #expect(throws: MetagraphSnapshot.Error.self) { try Admission(ownHotkey: rich, config: config) }
    }
}

@Suite struct CapacityGateTests {
    @Test func waitersAreServedByStakeAndAFullQueueIsRefused() async throws {
        let gate = CapacityGate(maxConcurrent: 1, maxQueued: 2)
        let far = ContinuousClock.now + .seconds(30)
        try await gate.enter(priority: 0, deadline: far)
        let order = OrderRecorder()
        let low = Task { try await gate.enter(priority: 1, deadline: far); await order.add("low") }
        try await Task.sleep(for: .milliseconds(50))
        let high = Task { try await gate.enter(priority: 100, deadline: far); await order.add("high") }
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: CapacityGate.Refusal.queueFull) { try await gate.enter(priority: 1000, deadline: far) }
        await gate.leave()
        try await high.value
        await gate.leave()
        try await low.value
        #expect(await order.names == ["high", "low"])
    }

    @Test func aWaitPastTheDeadlineIsRefused() async throws {
        let gate = CapacityGate(maxConcurrent: 1, maxQueued: 5)
        try await gate.enter(priority: 0, deadline: .now + .seconds(30))
        let started = ContinuousClock.now
        await #expect(throws: CapacityGate.Refusal.waitedPastDeadline) {
            try await gate.enter(priority: 0, deadline: .now + .milliseconds(100))
        }
        // Refused at its deadline, not when the slot frees (30 s): wide of a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(await gate.load.queued == 0)
    }
}

actor OrderRecorder {
    var names: [String] = []
    func add(_ name: String) { names.append(name) }
}

@Suite struct RequestBudgetTests {
    @Test func aTimeoutWithinTheLimitIsTheBudget() throws {
        #expect(try RequestBudget(requested: 17, policy: .request, limit: 300).seconds == 17)
        #expect(try RequestBudget(requested: nil, policy: .request, limit: 300).seconds == 12)
        #expect(try RequestBudget(requested: 17, policy: .fixed(seconds: 9), limit: 300).seconds == 9)
    }

    /// An attacker's values: refused with 400 naming the limit, never turned into a Duration.
    @Test(arguments: [300.001, 1e19, 1e21, 1e308, Double.infinity, Double.nan, -1])
    func aTimeoutAboveTheLimitIs400(requested: Double) {
        do {
            _ = try RequestBudget(requested: requested, policy: .request, limit: 300)
            Issue.record("expected a rejection")
        } catch {
            #expect(error.status == 400)
            #expect(error.reason == "timeout_too_large")
            #expect(error.message.contains("at most 300.0 s (max_request_timeout)"))
        }
    }

    @Test func theDeadlineIsTheBudgetFromTheStart() throws {
        let start = ContinuousClock.now
        let budget = try RequestBudget(requested: 2.5, policy: .request, limit: 300)
        #expect(budget.deadline(from: start) - start == .milliseconds(2500))
    }
}
