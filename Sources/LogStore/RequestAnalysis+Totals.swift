/// Sums and counts of one group computed elsewhere (the fleet's PostgreSQL, `FleetAnalysis`),
/// turned into `Figures` by the same code as the SQLite analysis.
extension RequestAnalysis {
    public struct Mean: Sendable, Equatable {
        public var sum = 0.0
        public var count = 0
        public init(sum: Double = 0, count: Int = 0) {
            self.sum = sum
            self.count = count
        }
    }

    public struct Totals: Sendable {
        public var requests = 0
        /// Requests per outcome (RequestRecord.outcomes; others are ignored).
        public var outcomes: [String: Int] = [:]
        public var rejections: [String: Int] = [:]
        public var total = Mean(), arrivalLag = Mean(), queueWait = Mean(), timeout = Mean()
        public var deliveredShare = Mean(), finalAnswer = Mean(), batches = Mean(), batchGap = Mean()
        public var itemsSent = 0, itemsSentBeforeTimeout = 0, itemsUnsent = 0, itemsGenerated = 0, bytesSent = 0
        public var largestBatch = 0
        public var batchesAboveLimit = 0
        /// Times to first batch: count per TTFBHistogram bucket (2% wide, floor(ln(ms) / ln(1.02))).
        public var ttfbBuckets: [Int: Int] = [:]
        public init() {}
    }

    /// The figures of a group from its totals; percentiles from the histogram (within 1%).
    public static func figures(_ totals: Totals, group: [String: String], minutes: Double) -> Figures {
        var sums = GroupTotals()
        sums.requests = totals.requests
        for (name, count) in totals.outcomes {
            if let index = WindowScan.outcomes.firstIndex(of: name) { sums.outcomes[index] = count }
        }
        sums.rejections = totals.rejections
        func mean(_ mean: Mean) -> GroupTotals.Mean { .init(sum: mean.sum, count: mean.count) }
        sums.total = mean(totals.total)
        sums.arrivalLag = mean(totals.arrivalLag)
        sums.queueWait = mean(totals.queueWait)
        sums.timeout = mean(totals.timeout)
        sums.deliveredShare = mean(totals.deliveredShare)
        sums.finalAnswer = mean(totals.finalAnswer)
        sums.batches = mean(totals.batches)
        sums.batchGap = mean(totals.batchGap)
        sums.itemsSent = totals.itemsSent
        sums.itemsSentBeforeTimeout = totals.itemsSentBeforeTimeout
        sums.itemsUnsent = totals.itemsUnsent
        sums.itemsGenerated = totals.itemsGenerated
        sums.bytesSent = totals.bytesSent
        sums.largestBatch = totals.largestBatch
        sums.batchesAboveLimit = totals.batchesAboveLimit
        for (bucket, count) in totals.ttfbBuckets where TTFBHistogram.buckets.contains(bucket) && count > 0 {
            sums.firstBatchHistogram.add(TTFBHistogram.value(bucket), count: count)
        }
        return sums.figures(group: group, minutes: minutes)
    }
}

extension ReportQueries.Request {
    public static func make(worker: String, outcome: String, receivedAt: Double, ttfb: Double?, deliveredShare: Double?, count: Int) -> Self {
        Self(worker: worker, outcome: outcome, receivedAt: receivedAt, ttfb: ttfb, deliveredShare: deliveredShare, count: count)
    }
}

extension ReportQueries.Timeline {
    public static func make(worker: String, validator: String, outcome: String, timeout: Double?, total: Double, batchOffsets: [Double]) -> Self {
        Self(worker: worker, validator: validator, outcome: outcome, timeout: timeout, total: total, batchOffsets: batchOffsets)
    }
}

extension ReportQueries.Data {
    public init(from: Double, to: Double, requests: [ReportQueries.Request], slowest: [ReportQueries.Timeline], validators: [RequestAnalysis.Figures]) {
        self.from = from
        self.to = to
        self.requests = requests
        self.slowest = slowest
        self.validators = validators
    }
}
