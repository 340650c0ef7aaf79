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
        table.accept(key: "k", nonce: nanoseconds(now), timeout: 12, now: now)
        #expect(table.problem(key: "k", nonce: nanoseconds(now), timeout: 12, now: now + 1) == "Nonce is too old, a newer one was last processed")
        #expect(table.problem(key: "k", nonce: nanoseconds(now + 0.5), timeout: 12, now: now + 1) == nil)
        #expect(table.problem(key: "other", nonce: nanoseconds(now), timeout: 12, now: now + 1) == nil)
    }

    @Test func keysAreForgottenOnceTheirWindowHasPassed() {
        let table = NonceTable(pruneInterval: 5)
        for second in 0..<600 {
            table.accept(key: "key-\(second)", nonce: nanoseconds(now + Double(second)), timeout: 12, now: now + Double(second))
        }
        // The window of the last 4 + 12 + 1 seconds, and up to one sweep interval more.
        #expect(table.count <= 17 + 5 + 1)
        // A forgotten key's old request is outside the window anyway.
        #expect(table.problem(key: "key-0", nonce: nanoseconds(now), timeout: 12, now: now + 599) != nil)
        // A nonce from the future is remembered until its own window has passed.
        table.accept(key: "ahead", nonce: nanoseconds(now + 620), timeout: 12, now: now + 600)
        table.accept(key: "sweep", nonce: nanoseconds(now + 630), timeout: 12, now: now + 630)
        #expect(table.problem(key: "ahead", nonce: nanoseconds(now + 620), timeout: 12, now: now + 630) == "Nonce is too old, a newer one was last processed")
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
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(await gate.load.queued == 0)
    }
}

actor OrderRecorder {
    var names: [String] = []
    func add(_ name: String) { names.append(name) }
}
