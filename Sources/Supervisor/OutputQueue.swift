import Foundation
import Synchronization

/// Where an `OutputQueue` writes a line: a log file, the supervisor's standard error.
public protocol OutputTarget: AnyObject, Sendable {
    /// Writes the bytes; nil on success, else why not. Called on the queue's thread only.
    func write(_ bytes: [UInt8]) -> String?
}

/// Lines for files and terminals, written by a thread of its own: a write that blocks (a
/// paused terminal, a pipe nobody reads, a stalled disk) holds that thread only, never one of
/// the few threads of Swift's cooperative pool that read the workers' output. The queue is
/// bounded; a line that finds it full is dropped and counted, so `enqueue` never waits.
public final class OutputQueue: Sendable {
    private struct Item: Sendable {
        var target: any OutputTarget
        var bytes: [UInt8]
        var loss: LossCounter
    }
    private struct State: Sendable {
        var items: [Item] = []
        var bytes = 0
        /// The thread is writing a batch taken from `items`.
        var writing = false
    }
    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    public let capacity: Int
    public let name: String

    /// - Parameter capacity: bytes that may wait; more are dropped.
    public init(name: String, capacity: Int = 1 << 20) {
        self.name = name
        self.capacity = capacity
        let thread = Thread { [self] in drain() }
        thread.name = name
        thread.start()
    }

    /// Queues `bytes` for `target`; returns at once. When the queue is full the line is
    /// dropped and counted in `loss`.
    public func enqueue(_ bytes: [UInt8], to target: any OutputTarget, loss: LossCounter) {
        let accepted = state.withLock { state in
            guard state.bytes + bytes.count <= capacity else { return false }
            state.items.append(Item(target: target, bytes: bytes, loss: loss))
            state.bytes += bytes.count
            return true
        }
        if accepted {
            wakeUp.signal()
        } else {
            loss.lost("\(name): more than \(capacity) bytes waiting to be written (the output is not keeping up)")
        }
    }

    /// True when everything queued has been written (or has failed).
    public var isIdle: Bool { state.withLock { $0.items.isEmpty && !$0.writing } }

    /// Waits until the queue is idle, up to `timeout` seconds; whether it is.
    public func waitUntilIdle(timeout: Double = 5) async -> Bool {
        let end = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while !isIdle {
            guard ContinuousClock.now < end else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    private func drain() {
        while true {
            wakeUp.wait()
            let batch = state.withLock { state in
                defer {
                    state.items.removeAll(keepingCapacity: true)
                    state.bytes = 0
                }
                state.writing = !state.items.isEmpty
                return state.items
            }
            for item in batch {
                if let failure = item.target.write(item.bytes) { item.loss.lost(failure) }
            }
            state.withLock { $0.writing = false }
        }
    }
}
