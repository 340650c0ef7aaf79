import Synchronization
import Testing
@testable import Streaming

/// `max_batch_chars` and `max_batch_tokens`: no batch passes a bound, nothing is lost or
/// reordered, and a batch goes out early only when the next item would not fit.
@Suite struct BatchBoundsTests {
    func run(_ items: [String], batchSize: Int, bounds: BatchBounds) async -> (StreamSummary, [Batch]) {
        let (stream, continuation) = AsyncThrowingStream<String, any Error>.makeStream()
        for item in items { continuation.yield(item) }
        continuation.finish()
        let batches = Mutex<[Batch]>([])
        let clock = ContinuousClock()
        let summary = await StreamingEngine(batchSize: batchSize, bounds: bounds).run(
            items: stream, deadline: clock.now + .seconds(30), clock: clock
        ) { batch in batches.withLock { $0.append(batch) } }
        return (summary, batches.withLock { $0 })
    }

    /// Items of 1 to 9 characters, a multi-scalar one among them.
    let items = ["So", " the", " final", " answer", " is", ": ", "52", ".", " Über", "prüfung", "!", " 4", "5 + 7", " = 52\n"]

    @Test func everyCharacterBoundHoldsAtEverySplit() async {
        let text = items.joined()
        let longest = items.map(\.unicodeScalars.count).max()!
        for batchSize in [1, 3, 12] {
            for bound in 1...(text.unicodeScalars.count + 1) {
                let (summary, batches) = await run(items, batchSize: batchSize, bounds: BatchBounds(maxChars: bound))
                #expect(summary.end == .finished)
                #expect(batches.map(\.text).joined() == text, "size \(batchSize), bound \(bound): text changed")
                #expect(batches.allSatisfy { $0.text.unicodeScalars.count <= bound }, "size \(batchSize), bound \(bound)")
                #expect(batches.allSatisfy { $0.items <= batchSize })
                #expect(batches.map(\.sequence) == Array(0..<batches.count))
                #expect(batches.dropLast().allSatisfy { !$0.isFinal })
                #expect(summary.itemsSent == summary.itemsGenerated)
                if bound >= longest {
                    // No item was cut: a batch went out early only because the next item did
                    // not fit, or because it was full.
                    #expect(summary.itemsGenerated == items.count)
                    var next = 0
                    for (index, batch) in batches.enumerated() where index < batches.count - 1 {
                        next += batch.items
                        let full = batch.items == batchSize || batch.text.unicodeScalars.count == bound
                        let nextWouldPass = batch.text.unicodeScalars.count + items[next].unicodeScalars.count > bound
                        #expect(full || nextWouldPass, "size \(batchSize), bound \(bound): batch \(index) went early")
                    }
                }
            }
        }
    }

    /// Without bounds the batches are the plain batch-size ones.
    @Test func noBoundsIsTheTemplatesBatching() async {
        let (_, batches) = await run(items, batchSize: 4, bounds: BatchBounds())
        #expect(batches.map(\.items) == [4, 4, 4, 2])
    }

    /// An item longer than the bound (a server that sends a paragraph at once) is cut.
    @Test func anItemPastTheBoundIsCut() async {
        let long = String(repeating: "x", count: 450)
        let (summary, batches) = await run(["a ", long, " b"], batchSize: 12, bounds: BatchBounds(maxChars: 200))
        // "a " goes out first: a 200-character piece would not fit beside it.
        #expect(batches.map { $0.text.count } == [2, 200, 200, 52])
        #expect(batches.map(\.text).joined() == "a " + long + " b")
        #expect(summary.itemsGenerated == 5 && summary.itemsSent == 5)
    }

    /// Tokens counted by the server's tokenizer (here: the letters of each word): an answer
    /// of more tokens than items still fits the bound.
    @Test func tokenBoundUsesTheCounter() async {
        let asked = Mutex<[String]>([])
        let bounds = BatchBounds(maxTokens: 5) { text in
            asked.withLock { $0.append(text) }
            return text.filter(\.isLetter).count
        }
        let words = ["ab ", "cd ", "ef ", "g ", "hi "]
        let (_, batches) = await run(words, batchSize: 12, bounds: bounds)
        // ab+cd = 4 and ef would make 6: out early; ef+g+hi = 5: full.
        #expect(batches.map(\.text) == ["ab cd ", "ef g hi "])
        #expect(asked.withLock { $0 } == words)
    }

    /// A byte-level tokenizer counts an emoji as several tokens: a piece is cut to at most
    /// `maxTokens` bytes, so no batch passes the bound by the server's own count.
    @Test func tokensOfManyByteCharactersStayWithinTheBound() async {
        let bytesPerToken: @Sendable (String) -> Int = { ($0.utf8.count + 1) / 2 }
        let item = String(repeating: "🙂", count: 30)
        let (_, batches) = await run([item, " ok"], batchSize: 12, bounds: BatchBounds(maxTokens: 10) { bytesPerToken($0) })
        #expect(batches.map(\.text).joined() == item + " ok")
        #expect(batches.allSatisfy { bytesPerToken($0.text) <= 10 }, "\(batches.map { bytesPerToken($0.text) })")
    }

    /// A counter's answer is bounded: it cannot make a piece weigh nothing or more than its
    /// characters (a hostile or broken tokenizer).
    @Test func aCountersAnswerIsClamped() async {
        let zero = BatchBounds(maxTokens: 3) { _ in 0 }
        let (_, batches) = await run(["a", "b", "c", "d"], batchSize: 12, bounds: zero)
        #expect(batches.map(\.text) == ["abc", "d"])
        let huge = BatchBounds(maxTokens: 3) { _ in Int.max }
        let (_, cut) = await run(["ab", "c"], batchSize: 12, bounds: huge)
        #expect(cut.map(\.text) == ["abc"], "at most one token per byte")
    }
}
