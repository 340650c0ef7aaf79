import Foundation
@testable import LogStore
import Testing
@testable import Report

/// The incentive chart: a point per refresh, the hourly timeout and partial rates beside it.
@Suite struct StandingChartTests {
    @Test func incentiveOverTimeoutAndPartialRatesPerHour() {
        let data = ReportQueries.Data(
            from: 0, to: 7200,
            requests: [
                .init(worker: "alpha", outcome: "complete", receivedAt: 10),
                .init(worker: "alpha", outcome: "empty_timeout", receivedAt: 20),
                .init(worker: "alpha", outcome: "partial_timeout", receivedAt: 30),
                .init(worker: "alpha", outcome: "partial_timeout", receivedAt: 40),
                .init(worker: "alpha", outcome: "rejected", receivedAt: 50, count: 9),
                .init(worker: "alpha", outcome: "complete", receivedAt: 3700),
            ],
            slowest: [], validators: []
        )
        func row(_ at: Double, _ incentive: Double?) -> StandingRecord {
            StandingRecord(at: at, miner: "alpha", hotkey: "5A", network: "finney", netuid: 35, block: Int(at), tempo: 360,
                           registered: incentive != nil, incentive: incentive)
        }
        let html = ReportPage.html(data, standing: [row(100, 0.02), row(4000, 0.01), row(5000, nil)])
        #expect(html.contains("<svg class=\"standing\" data-miner=\"alpha\""))
        #expect(html.components(separatedBy: "data-incentive=").count - 1 == 3)
        #expect(html.contains("data-incentive=\"0.02\"") && html.contains("data-incentive=\"unregistered\""))
        // Hour 0: 4 requests served (rejections aside), 1 empty timeout and 2 partial; hour 1: none.
        #expect(html.contains("data-hour=\"0\" data-empty_timeout-rate=\"0.250\""))
        #expect(html.contains("data-hour=\"0\" data-partial_timeout-rate=\"0.500\""))
        #expect(html.contains("data-hour=\"1\" data-empty_timeout-rate=\"0.000\""))
        // No standing rows, no chart.
        #expect(!ReportPage.html(data).contains("class=\"standing\""))
    }
}
