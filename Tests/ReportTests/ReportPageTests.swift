import Foundation
@testable import LogStore
import Testing
@testable import Report

@Suite struct ReportPageTests {
    func request(_ worker: String, _ outcome: String, at: Double, ttfb: Double?, share: Double?) -> ReportQueries.Request {
        ReportQueries.Request(worker: worker, outcome: outcome, receivedAt: at, ttfb: ttfb, deliveredShare: share)
    }

    func count(_ needle: String, in html: String) -> Int { html.components(separatedBy: needle).count - 1 }

    @Test func theChartsCarryTheSeriesOfTheData() {
        let data = ReportQueries.Data(
            from: 0, to: 2400,
            requests: [
                request("alpha", "complete", at: 10, ttfb: 0.1, share: 1),
                request("alpha", "complete", at: 20, ttfb: 0.1, share: 1),
                request("alpha", "partial_timeout", at: 30, ttfb: 0.9, share: 0.5),
                request("beta<&>", "rejected", at: 2390, ttfb: nil, share: nil),
            ],
            slowest: [ReportQueries.Timeline(worker: "alpha", validator: "5Hh2vxRfjJpx", outcome: "partial_timeout", timeout: 1, total: 1.2, batchOffsets: [0.9, 1.0])],
            validators: []
        )
        let html = ReportPage.html(data)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"), "self-contained")
        // alpha: one slice (the first 100 s) with 2 complete and 1 partial; beta: 1 rejected in the last.
        #expect(count("data-miner=\"alpha\"", in: html) == 1)
        #expect(html.contains("data-outcome=\"complete\" data-count=\"2\""))
        #expect(html.contains("data-outcome=\"partial_timeout\" data-count=\"1\""))
        #expect(html.contains("data-miner=\"beta&lt;&amp;&gt;\""), "names are escaped")
        #expect(html.contains("data-outcome=\"rejected\" data-count=\"1\""))
        // Time to first batch: 20 bins from 0 to 900 ms; two at 100 ms, one at 900 ms.
        #expect(html.contains("data-bin=\"2\" data-count=\"2\"") && html.contains("data-bin=\"19\" data-count=\"1\""))
        // Delivered share: 10 bins of 10 %; 50 % and twice 100 %.
        #expect(html.contains("data-bin=\"5\" data-count=\"1\"") && html.contains("data-bin=\"9\" data-count=\"2\""))
        #expect(html.contains("<g class=\"timeline\" data-batches=\"2\">"))
        #expect(count("<circle", in: html) == 2)
    }

    @Test func emptyDataSaysSo() {
        let html = ReportPage.html(ReportQueries.Data(from: 0, to: 1, requests: [], slowest: [], validators: []))
        #expect(count("no data", in: html) == 3)
    }
}
