import Foundation
import LogStore

/// The analysis as a table (the columns `miners status --help` explains) and as CSV.
enum AnalysisFormat {
    static func table(_ groups: [RequestAnalysis.Figures], _ query: RequestAnalysis.Query) -> [[String]] {
        let keys = query.groupBy.map(\.rawValue)
        let header = keys.map { $0.uppercased() } + [
            "REQ", "COMPLETE", "PARTIAL", "EMPTY-TO", "ERROR", "GONE", "REJECTED", "TTFB P50/P95/P99", "DELIVERED",
            "FINAL", "SENT-BEFORE-TO", "UNSENT", "B/REQ", ">\(query.largeBatch)", "GAP", "REQ/MIN", "REJ%", "BUDGET",
        ]
        return [header] + groups.map { group in
            let outcome = { (name: String) in String(group.outcomes[name] ?? 0) }
            let ms = { (value: Double?) in value.map { String(format: "%.0f", $0 * 1000) } ?? "-" }
            let percent = { (value: Double?) in value.map { String(format: "%.0f%%", $0 * 100) } ?? "-" }
            let number = { (value: Double?, format: String) in value.map { String(format: format, $0) } ?? "-" }
            return keys.map { group.group[$0] ?? "-" } + [
                String(group.requests), outcome("complete"), outcome("partial_timeout"), outcome("empty_timeout"),
                outcome("stream_error"), outcome("client_disconnect"), outcome("rejected"),
                "\(ms(group.ttfbP50))/\(ms(group.ttfbP95))/\(ms(group.ttfbP99))",
                percent(group.meanDeliveredShare), percent(group.finalAnswerRate), String(group.itemsSentBeforeTimeout),
                String(group.itemsUnsent), number(group.meanBatchesPerRequest, "%.1f"), String(group.batchesAboveLimit),
                number(group.meanBatchGap.map { $0 * 1000 }, "%.0fms"), String(format: "%.2f", group.requestsPerMinute),
                String(format: "%.0f%%", group.rejectionRate * 100), number(group.meanTimeout, "%.1fs"),
            ]
        }
    }

    static func csv(_ groups: [RequestAnalysis.Figures], _ query: RequestAnalysis.Query) -> String {
        let keys = query.groupBy.map(\.rawValue)
        let outcomes = RequestRecord.outcomes
        let header = keys + ["requests"] + outcomes + [
            "ttfb_p50_s", "ttfb_p95_s", "ttfb_p99_s", "mean_total_s", "mean_arrival_lag_s", "mean_queue_wait_s",
            "items_sent_before_timeout", "items_unsent", "mean_delivered_share", "final_answer_rate",
            "mean_batches_per_request", "largest_batch", "batches_above_\(query.largeBatch)", "mean_batch_gap_s",
            "requests_per_minute", "rejection_rate", "mean_timeout_s", "rejections",
        ]
        func field(_ value: Double?) -> String { value.map { String($0) } ?? "" }
        func quote(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        let rows = groups.map { group in
            keys.map { group.group[$0] ?? "" } + [String(group.requests)] + outcomes.map { String(group.outcomes[$0] ?? 0) } + [
                field(group.ttfbP50), field(group.ttfbP95), field(group.ttfbP99), field(group.meanTotal),
                field(group.meanArrivalLag), field(group.meanQueueWait), String(group.itemsSentBeforeTimeout),
                String(group.itemsUnsent), field(group.meanDeliveredShare), field(group.finalAnswerRate),
                field(group.meanBatchesPerRequest), String(group.largestBatch), String(group.batchesAboveLimit),
                field(group.meanBatchGap), String(group.requestsPerMinute), String(group.rejectionRate), field(group.meanTimeout),
                group.rejections.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";"),
            ]
        }
        return ([header] + rows).map { $0.map(quote).joined(separator: ",") }.joined(separator: "\n")
    }
}
