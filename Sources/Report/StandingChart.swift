import Foundation
import LogStore

/// Per miner: its incentive at each metagraph refresh over its timeout and partial rates per
/// hour, to see whether incentive follows the answers the deadline cut.
enum StandingChart {
    static func html(standing: [StandingRecord], requests: [ReportQueries.Request], from: Double, to: Double) -> String {
        var html = "<p class=\"legend\"><span><i style=\"background:#1565c0\"></i>incentive (scaled to its peak)</span>"
            + "<span><i style=\"background:#c62828\"></i>empty_timeout rate</span><span><i style=\"background:#f9a825\"></i>partial_timeout rate</span>"
            + " per hour, of the requests not rejected</p>\n"
        for miner in Set(standing.map(\.miner)).sorted() {
            html += chart(miner: miner, rows: standing.filter { $0.miner == miner }, requests: requests.filter { $0.worker == miner }, from: from, to: to)
        }
        return html
    }

    static func chart(miner: String, rows: [StandingRecord], requests: [ReportQueries.Request], from: Double, to: Double) -> String {
        let width = 960.0, height = 120.0, left = 40.0
        let span = max(to - from, 1), hours = max(1, Int((span / 3600).rounded(.up)))
        func x(_ at: Double) -> Double { left + (at - from) / span * (width - left - 10) }
        let peak = max(rows.compactMap(\.incentive).max() ?? 0, 1e-9)
        var svg = "<h3>\(ReportPage.escape(miner))</h3>\n<svg class=\"standing\" data-miner=\"\(ReportPage.escape(miner))\" width=\"\(Int(width))\" height=\"\(Int(height + 20))\" role=\"img\">"
        svg += "<text x=\"0\" y=\"12\">100 %</text><text x=\"0\" y=\"\(Int(height))\">0</text>"
        svg += "<text x=\"\(Int(width - 170))\" y=\"12\">incentive peak \(String(format: "%.5f", peak))</text>"
        let barWidth = (width - left - 10) / Double(hours) / 2
        for hour in 0..<hours {
            let start = from + Double(hour) * 3600
            let served = requests.filter { $0.receivedAt >= start && $0.receivedAt < start + 3600 && $0.outcome != "rejected" }
            let total = served.reduce(0) { $0 + $1.count }
            guard total > 0 else { continue }
            func rate(_ outcome: String) -> Double { Double(served.filter { $0.outcome == outcome }.reduce(0) { $0 + $1.count }) / Double(total) }
            for (index, (outcome, color)) in [("empty_timeout", "#c62828"), ("partial_timeout", "#f9a825")].enumerated() {
                let share = rate(outcome), barHeight = share * (height - 10)
                svg += "<rect x=\"\(ReportPage.fmt(x(start) + Double(index) * barWidth))\" y=\"\(ReportPage.fmt(height - barHeight))\" width=\"\(ReportPage.fmt(max(barWidth - 1, 0.5)))\" height=\"\(ReportPage.fmt(barHeight))\" fill=\"\(color)\" data-hour=\"\(hour)\" data-\(outcome)-rate=\"\(String(format: "%.3f", share))\"><title>\(outcome): \(Int(share * 100)) % of \(total)</title></rect>"
            }
        }
        // An unregistered read has no incentive: drawn at 0, hollow.
        let points = rows.map { ($0, x($0.at), height - ($0.incentive ?? 0) / peak * (height - 10)) }
        svg += "<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\" points=\"\(points.map { "\(ReportPage.fmt($0.1)),\(ReportPage.fmt($0.2))" }.joined(separator: " "))\"/>"
        for (row, px, py) in points {
            svg += "<circle cx=\"\(ReportPage.fmt(px))\" cy=\"\(ReportPage.fmt(py))\" r=\"3\" fill=\"\(row.registered ? "#1565c0" : "#fff")\" stroke=\"#1565c0\" data-incentive=\"\(row.incentive.map { String($0) } ?? "unregistered")\"><title>block \(row.block): \(row.incentive.map { String(format: "%.5f", $0) } ?? "not registered")</title></circle>"
        }
        svg += "<text x=\"\(Int(left))\" y=\"\(Int(height + 15))\">\(ReportPage.escape(ReportPage.iso(from)))</text>"
        svg += "<text x=\"\(Int(width - 150))\" y=\"\(Int(height + 15))\">\(ReportPage.escape(ReportPage.iso(to)))</text></svg>\n"
        return svg
    }
}
