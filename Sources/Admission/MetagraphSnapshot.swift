import Foundation
import Synchronization

/// A snapshot of the subnet's neurons, read from a JSON file and re-read when it changes:
///
///     {"netuid": 35, "block": 4100000, "neurons": [
///       {"hotkey": "5F…", "uid": 12, "stake": 15234.5, "validator_permit": true}, …]}
///
/// Refreshing the file from the chain is left to the operator (a cron job with btcli or the
/// bittensor SDK); the worker picks up a new file within a second, without a restart.
public final class MetagraphSnapshot: Sendable {
    public struct Neuron: Sendable, Equatable {
        public var uid: Int
        public var stake: Double
        public var validatorPermit: Bool
    }

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    public let path: String
    private struct Cache {
        var neurons: [String: Neuron] = [:]
        var modified: Date?
        var checkedAt = 0.0
        var problem: String?
    }
    private let cache = Mutex(Cache())

    /// Reads the file now; a missing or malformed file is an error at start.
    public init(path: String) throws {
        self.path = path
        let neurons = try Self.read(path)
        cache.withLock { $0.neurons = neurons; $0.modified = Self.modified(path) }
    }

    /// The neuron of a hotkey, nil when it is not in the snapshot. The file is checked for
    /// changes at most once a second; a broken new file keeps the last good snapshot.
    public func neuron(_ hotkey: String, now: Double = Date().timeIntervalSince1970) -> Neuron? {
        let reload: Bool = cache.withLock { cache in
            guard now - cache.checkedAt >= 1 else { return false }
            cache.checkedAt = now
            return Self.modified(path) != cache.modified
        }
        if reload {
            do {
                let neurons = try Self.read(path)
                cache.withLock { $0.neurons = neurons; $0.modified = Self.modified(path); $0.problem = nil }
            } catch {
                cache.withLock { $0.modified = Self.modified(path); $0.problem = "\(error)" }
            }
        }
        return cache.withLock { $0.neurons[hotkey] }
    }

    /// The reason the last re-read failed, if it did.
    public var problem: String? { cache.withLock { $0.problem } }

    private static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    static func read(_ path: String) throws -> [String: Neuron] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Error(description: "cannot read the metagraph snapshot \(path)")
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = root["neurons"] as? [[String: Any]] else {
            throw Error(description: "\(path): expected a JSON object with a 'neurons' list")
        }
        var neurons: [String: Neuron] = [:]
        for (index, item) in list.enumerated() {
            guard let hotkey = item["hotkey"] as? String, let uid = item["uid"] as? Int,
                  let stake = (item["stake"] as? NSNumber)?.doubleValue else {
                throw Error(description: "\(path): neurons[\(index)] needs hotkey (string), uid (integer) and stake (number)")
            }
            neurons[hotkey] = Neuron(uid: uid, stake: stake, validatorPermit: item["validator_permit"] as? Bool ?? false)
        }
        return neurons
    }
}
