/// A deterministic backend for tests, demos and the validator simulator.
///
/// It emits `text` (or, without it, a short answer to the question ending
/// `So the final answer is: X`) as word items — each word with the whitespace after it — and
/// waits `delay` before each item. With `failAfter: K` it throws after K items.
public struct MockBackend: Backend {
    public let text: String?
    public var delay: Duration
    public var failAfter: Int?
    /// A fixed text is split once, not per request.
    private let textWords: [String]?

    public var kind: String { "mock" }

    public init(text: String? = nil, delay: Duration = .zero, failAfter: Int? = nil) {
        self.text = text
        self.delay = delay
        self.failAfter = failAfter
        textWords = text.map(Self.words)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var afterItems: Int
        public var description: String { "mock backend failed after \(afterItems) items (fail_after)" }
    }

    public func generate(_ request: GenerationRequest, report: GenerationReport) -> BackendItems {
        let words = textWords ?? Self.words(Self.answer(to: request.question))
        // Without a delay there is nothing to wait for: the words go to the engine as it asks,
        // without a task of their own and two task switches per word (harness cost that the
        // request path's measurements would otherwise carry; a real backend's per-token path is
        // bench/token_to_wire.py's).
        if delay == .zero { return ImmediateItems(items: words, failAfter: failAfter) }
        // A GenerationStream, as a network backend's: in a worker it runs on the connection's
        // event loop with the engine and the writer, and waits there too (EventLoopClock), so
        // an item does not cross threads on its way to the wire.
        let clock = EventLoopClock(eventLoop: GenerationStream.eventLoop)
        return GenerationStream { [delay, failAfter] send in
            for (index, word) in words.enumerated() {
                if let failAfter, index == failAfter { throw Failure(afterItems: failAfter) }
                try await clock.sleep(for: delay)
                try Task.checkCancellation()
                await send(word)
            }
            if let failAfter, failAfter >= words.count { throw Failure(afterItems: words.count) }
        }
    }

    /// Splits text into words that keep their trailing whitespace; leading whitespace stays
    /// with the first word, so joining the items gives the text back exactly.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var hasWord = false, inTrailingSpace = false
        for character in text {
            if character.isWhitespace {
                inTrailingSpace = hasWord
            } else if inTrailingSpace {
                words.append(current)
                current = ""
                inTrailingSpace = false
            } else {
                hasWord = true
            }
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The mock's answer: the value of the arithmetic the question asks (see `ArithmeticAnswer`)
    /// when it asks some, otherwise a number derived from the question text (stable across runs
    /// and machines). Nothing numeric follows the number after `the final answer is:`, where
    /// the validator's `math_score` reads it.
    public static func answer(to question: Question) -> String {
        let value = ArithmeticAnswer.answer(question.text) ?? String(stableNumber(question.text))
        return "The answer is \(value). So the final answer is: \(value)"
    }

    /// FNV-1a, folded to 0..<1000.
    static func stableNumber(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash % 1000
    }
}

/// Items already at hand, one per `next()`. Each `next()` yields first: the writer of the batch
/// the engine just made and the deadline's callback get their turn between items (a long answer
/// would otherwise be made whole, in memory, before its first batch left).
struct ImmediateItems: AsyncSequence, Sendable {
    typealias Element = String
    typealias Failure = any Error
    let items: [String]
    /// Throws `MockBackend.Failure` after this many items (`fail_after`).
    var failAfter: Int?

    struct AsyncIterator: AsyncIteratorProtocol {
        let items: [String]
        let failAfter: Int?
        var index = 0

        mutating func next() async throws -> String? {
            await Task.yield()
            if let failAfter, index == Swift.min(failAfter, items.count) { throw MockBackend.Failure(afterItems: index) }
            guard index < items.count else { return nil }
            defer { index += 1 }
            return items[index]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(items: items, failAfter: failAfter) }
}
