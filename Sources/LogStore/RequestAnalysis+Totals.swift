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

    /// `a + b` saturated, never trapping (GroupTotals'): for sums read from other databases.
    public static func adding(_ a: Int, _ b: Int) -> Int { GroupTotals.adding(a, b) }

    /// The figures of a group from its totals; percentiles from the histogram (within 1%).
    public static func figures(_ totals: Totals, group: [String: String], minutes: Double) -> Figures {
        GroupTotals(totals).figures(group: group, minutes: minutes)
    }
}

extension GroupTotals {
    init(_ totals: RequestAnalysis.Totals) {
        self.init()
        requests = totals.requests
        for (name, count) in totals.outcomes {
            if let index = WindowScan.outcomes.firstIndex(of: name) { outcomes[index] = count }
        }
        rejections = totals.rejections
        func mean(_ mean: RequestAnalysis.Mean) -> GroupTotals.Mean { .init(sum: mean.sum, count: mean.count) }
        total = mean(totals.total)
        arrivalLag = mean(totals.arrivalLag)
        queueWait = mean(totals.queueWait)
        timeout = mean(totals.timeout)
        deliveredShare = mean(totals.deliveredShare)
        finalAnswer = mean(totals.finalAnswer)
        batches = mean(totals.batches)
        batchGap = mean(totals.batchGap)
        itemsSent = totals.itemsSent
        itemsSentBeforeTimeout = totals.itemsSentBeforeTimeout
        itemsUnsent = totals.itemsUnsent
        itemsGenerated = totals.itemsGenerated
        bytesSent = totals.bytesSent
        largestBatch = totals.largestBatch
        batchesAboveLimit = totals.batchesAboveLimit
        for (bucket, count) in totals.ttfbBuckets where TTFBHistogram.buckets.contains(bucket) && count > 0 {
            firstBatchHistogram.add(TTFBHistogram.value(bucket), count: count)
        }
    }
}

extension ReportQueries.Request {
    /// `count` is bounded as the rollups' counts are (a sum from another database may be anything),
    /// so the report's totals cannot overflow.
    public static func make(worker: String, outcome: String, receivedAt: Double, ttfb: Double?, deliveredShare: Double?, count: Int) -> Self {
        Self(worker: worker, outcome: outcome, receivedAt: receivedAt, ttfb: ttfb, deliveredShare: deliveredShare,
             count: min(max(count, 0), RequestRollups.maxCount))
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
