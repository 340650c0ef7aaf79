import Foundation
@testable import LogStore
import Testing
@testable import Report

/// Review of #18: what the report charts comes from the log database; an infinite or huge
/// value, or a huge count, must not trap the page.
@Suite struct ReportReviewTests {
    @Test func theHistogramsTakeInfiniteAndHugeValuesAndCounts() {
        let values: [(Double, Int)] = [(.infinity, 1), (.nan, 1), (1e300, 2), (5, Int.max), (6, Int.max), (-1e300, 1)]
        let ranged = ReportPage.histogram(id: "d", values: values, unit: "%", bins: 10, range: 0...100)
        #expect(ranged.contains("<svg"))
        let open = ReportPage.histogram(id: "t", values: values, unit: "ms", bins: 20)
        #expect(open.contains("<svg"))
        #expect(ReportPage.histogram(id: "x", values: [(.infinity, 1)], unit: "ms", bins: 20).contains("no data"))
    }
}
