import Testing
@testable import Streaming

@Suite struct FinalAnswerDetectorTests {
    @Test func findsTheMarkerInOneBatch() {
        var detector = FinalAnswerDetector()
        detector.observe("The answer is 4. So the final answer is: 4")
        #expect(detector.found)
    }

    @Test func findsTheMarkerAcrossBatchesInAnyCase() {
        var detector = FinalAnswerDetector()
        for part in ["So The Fi", "nal ", "ANSWER", " is", ":", " 4"] { detector.observe(part) }
        #expect(detector.found)
    }

    @Test func doesNotMistakeNearMisses() {
        var detector = FinalAnswerDetector()
        for part in ["the final answer is 4", " — the final answers: 5", "ü the final answer is"] { detector.observe(part) }
        #expect(!detector.found)
        detector.observe(":")
        #expect(detector.found)
    }
}
