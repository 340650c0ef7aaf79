import Foundation
import LogStore

/// `miners report`: one self-contained HTML file (inline SVG and CSS, no script, nothing
/// fetched) that shows where answers lose reward.
public enum ReportPage {
    static let outcomes: [(name: String, color: String)] = [
        ("complete", "#2e7d32"), ("partial_timeout", "#f9a825"), ("empty_timeout", "#c62828"), ("empty", "#9e9e9e"),
        ("stream_error", "#6a1b9a"), ("client_disconnect", "#1565c0"), ("rejected", "#212121"),
    ]

    public static func html(_ data: ReportQueries.Data, standing: [StandingRecord] = [], title: String = "Stream miners report") -> String {
        let period = "\(iso(data.from)) – \(iso(data.to))"
        var body = "<h1>\(escape(title))</h1>\n<p class=\"muted\">\(escape(period)), \(data.requests.reduce(0) { $0 + $1.count }) requests</p>\n"
        if let note = data.coverage.note { body += "<p class=\"muted\" id=\"sources\">\(escape(note.prefix(1).uppercased() + note.dropFirst()))</p>\n" }
        body += legend()
        body += "<h2>Outcomes over time, per miner</h2>\n"
        for worker in Set(data.requests.map(\.worker)).sorted() {
            body += outcomesOverTime(worker: worker, requests: data.requests.filter { $0.worker == worker }, from: data.from, to: data.to)
        }
        if !standing.isEmpty {
            body += "<h2>Incentive against timeouts, per miner</h2>\n"
            body += StandingChart.html(standing: standing, requests: data.requests, from: data.from, to: data.to)
        }
        body += "<h2>Time to first batch</h2>\n"
        body += histogram(id: "ttfb", values: data.requests.compactMap { request in request.ttfb.map { ($0 * 1000, request.count) } }, unit: "ms", bins: 20)
        body += "<h2>Share of each answer delivered</h2>\n"
        body += histogram(
            id: "delivered", values: data.requests.compactMap { request in request.deliveredShare.map { ($0 * 100, request.count) } },
            unit: "%", bins: 10, range: 0...100
        )
        body += "<h2>Batches of the slowest requests</h2>\n"
        body += timelines(data.slowest)
        body += "<h2>Validators</h2>\n"
        body += validatorTable(data.validators)
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
            h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } .muted { color: #666; }
            table { border-collapse: collapse; } td, th { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
            th:first-child, td:first-child { text-align: left; font-family: monospace; }
            .legend span { display: inline-block; margin-right: 14px; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
            svg text { font-size: 11px; fill: #444; }
            </style></head><body>
            \(body)
            </body></html>
            """
    }

    static func legend() -> String {
        "<p class=\"legend\">" + outcomes.map { "<span><i style=\"background:\($0.color)\"></i>\($0.name)</span>" }.joined() + "</p>\n"
    }

    /// Stacked bars of outcomes in 24 slices of the window.
    static func outcomesOverTime(worker: String, requests: [ReportQueries.Request], from: Double, to: Double) -> String {
        let slices = 24, width = 960.0, height = 120.0, left = 40.0
        let span = max(to - from, 1)
        var counts = [[String: Int]](repeating: [:], count: slices)
        for request in requests {
            let slice = min(slices - 1, max(0, Int((request.receivedAt - from) / span * Double(slices))))
            counts[slice][request.outcome, default: 0] += request.count
        }
        let peak = max(counts.map { $0.values.reduce(0, +) }.max() ?? 1, 1)
        let barWidth = (width - left) / Double(slices)
        var svg = "<h3>\(escape(worker))</h3>\n<svg class=\"outcomes\" data-miner=\"\(escape(worker))\" width=\"\(Int(width))\" height=\"\(Int(height + 20))\" role=\"img\">"
        svg += "<text x=\"0\" y=\"12\">\(peak)</text><text x=\"0\" y=\"\(Int(height))\">0</text>"
        for (index, slice) in counts.enumerated() {
            var y = height
            for outcome in outcomes {
                guard let count = slice[outcome.name], count > 0 else { continue }
                let barHeight = Double(count) / Double(peak) * (height - 10)
                y -= barHeight
                svg += "<rect x=\"\(fmt(left + Double(index) * barWidth + 1))\" y=\"\(fmt(y))\" width=\"\(fmt(barWidth - 2))\" height=\"\(fmt(barHeight))\" fill=\"\(outcome.color)\" data-outcome=\"\(outcome.name)\" data-count=\"\(count)\"><title>\(outcome.name): \(count)</title></rect>"
            }
        }
        svg += "<text x=\"\(Int(left))\" y=\"\(Int(height + 15))\">\(escape(iso(from)))</text>"
        svg += "<text x=\"\(Int(width - 150))\" y=\"\(Int(height + 15))\">\(escape(iso(to)))</text></svg>\n"
        return svg
    }

    /// - Parameter values: each value with the number of requests it stands for (an hourly
    ///   rollup's bucket stands for many).
    static func histogram(id: String, values: [(Double, Int)], unit: String, bins: Int, range: ClosedRange<Double>? = nil) -> String {
        // A value from the log that is infinite, or too large for an `Int` once scaled, must
        // not trap the page: it is left out, or counted in the last bin.
        let values = values.filter { $0.0.isFinite }
        guard !values.isEmpty else { return "<p class=\"muted\">no data</p>\n" }
        let low = range?.lowerBound ?? 0
        let high = max(range?.upperBound ?? (values.map(\.0).max() ?? 1), low + 1e-9)
        var counts = [Int](repeating: 0, count: bins)
        for (value, count) in values {
            let position = (value - low) / (high - low) * Double(bins)
            let bin = position.isNaN ? 0 : Int(min(max(position, 0), Double(bins - 1)))
            let (sum, overflow) = counts[bin].addingReportingOverflow(count)
            counts[bin] = overflow ? .max : sum
        }
        let width = 960.0, height = 140.0, left = 40.0
        let peak = max(counts.max() ?? 1, 1)
        let barWidth = (width - left) / Double(bins)
        var svg = "<svg id=\"\(id)\" width=\"\(Int(width))\" height=\"\(Int(height + 20))\" role=\"img\">"
        svg += "<text x=\"0\" y=\"12\">\(peak)</text>"
        for (index, count) in counts.enumerated() where count > 0 {
            let barHeight = Double(count) / Double(peak) * (height - 10)
            let lower = low + Double(index) * (high - low) / Double(bins)
            svg += "<rect x=\"\(fmt(left + Double(index) * barWidth + 1))\" y=\"\(fmt(height - barHeight))\" width=\"\(fmt(barWidth - 2))\" height=\"\(fmt(barHeight))\" fill=\"#546e7a\" data-bin=\"\(index)\" data-count=\"\(count)\"><title>from \(fmt(lower)) \(unit): \(count)</title></rect>"
        }
        svg += "<text x=\"\(Int(left))\" y=\"\(Int(height + 15))\">\(fmt(low)) \(unit)</text>"
        svg += "<text x=\"\(Int(width - 80))\" y=\"\(Int(height + 15))\">\(fmt(high)) \(unit)</text></svg>\n"
        return svg
    }

    /// One row per slow request: its span, a dot per batch, the timeout as a red tick.
    static func timelines(_ requests: [ReportQueries.Timeline]) -> String {
        guard !requests.isEmpty else { return "<p class=\"muted\">no data</p>\n" }
        let width = 960.0, left = 330.0, rowHeight = 22.0
        let longest = max(requests.map { max($0.total, $0.timeout ?? 0) }.max() ?? 1, 1e-9)
        let scale = (width - left - 20) / longest
        var svg = "<svg id=\"timelines\" width=\"\(Int(width))\" height=\"\(Int(Double(requests.count) * rowHeight + 20))\" role=\"img\">"
        for (index, request) in requests.enumerated() {
            let y = Double(index) * rowHeight + 14
            let label = "\(request.worker) · \(request.validator.prefix(8))… · \(request.outcome)"
            svg += "<g class=\"timeline\" data-batches=\"\(request.batchOffsets.count)\"><text x=\"0\" y=\"\(fmt(y + 4))\">\(escape(label))</text>"
            svg += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(left + request.total * scale))\" y1=\"\(fmt(y))\" y2=\"\(fmt(y))\" stroke=\"#90a4ae\" stroke-width=\"2\"/>"
            for offset in request.batchOffsets {
                svg += "<circle cx=\"\(fmt(left + offset * scale))\" cy=\"\(fmt(y))\" r=\"3\" fill=\"#2e7d32\"/>"
            }
            if let timeout = request.timeout {
                svg += "<line x1=\"\(fmt(left + timeout * scale))\" x2=\"\(fmt(left + timeout * scale))\" y1=\"\(fmt(y - 7))\" y2=\"\(fmt(y + 7))\" stroke=\"#c62828\" stroke-width=\"2\"/>"
            }
            svg += "</g>"
        }
        svg += "<text x=\"\(Int(left))\" y=\"\(Int(Double(requests.count) * rowHeight + 16))\">0 s</text>"
        svg += "<text x=\"\(Int(width - 60))\" y=\"\(Int(Double(requests.count) * rowHeight + 16))\">\(fmt(longest)) s</text></svg>\n"
        return svg
    }

    static func validatorTable(_ validators: [RequestAnalysis.Figures]) -> String {
        var html = "<table id=\"validators\"><tr><th>validator</th><th>requests</th><th>complete</th><th>partial</th><th>empty timeout</th><th>rejected</th><th>TTFB p50</th><th>delivered</th><th>final answer sent</th><th>timeout budget</th></tr>\n"
        for row in validators {
            func count(_ outcome: String) -> String { String(row.outcomes[outcome] ?? 0) }
            func percent(_ value: Double?) -> String { value.map { "\(Int($0 * 100)) %" } ?? "-" }
            let ttfb: String = row.ttfbP50.map { "\(Int($0 * 1000)) ms" } ?? "-"
            let budget: String = row.meanTimeout.map { "\(fmt($0)) s" } ?? "-"
            let cells: [String] = [
                String(row.requests), count("complete"), count("partial_timeout"), count("empty_timeout"), count("rejected"),
                ttfb, percent(row.meanDeliveredShare), percent(row.finalAnswerRate), budget,
            ]
            html += "<tr><td>\(escape(row.group["validator"] ?? "-"))</td>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        return html + "</table>\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func fmt(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    static func iso(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(.iso8601)
    }
}
