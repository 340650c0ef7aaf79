/// Running sums of one group, turned into `Figures` at the end. Kept as sums and counts so that
/// groups add up: raw rows one by one, hourly rollups (`RequestRollups`) whole.
struct GroupTotals {
    var requests = 0
    var outcomes = [Int](repeating: 0, count: WindowScan.outcomes.count)
    var rejections: [String: Int] = [:]
    /// Exact times to first batch of raw rows; rollups bring theirs as a histogram.
    var firstBatchDelays: [Double] = []
    var firstBatchHistogram = TTFBHistogram()
    var total = Mean(), arrivalLag = Mean(), queueWait = Mean(), timeout = Mean()
    var deliveredShare = Mean(), finalAnswer = Mean(), batches = Mean(), batchGap = Mean()
    var itemsSent = 0
    var itemsSentBeforeTimeout = 0
    var itemsUnsent = 0
    var itemsGenerated = 0
    var bytesSent = 0
    var largestBatch = 0
    var batchesAboveLimit = 0

    /// `a + b`, at `Int.max` (or `.min`) rather than trapping: counts come from the log
    /// database, which other processes (and hands) write.
    static func adding(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    struct Mean: Equatable {
        var sum = 0.0
        var count = 0
        mutating func add(_ value: Double?) {
            guard let value else { return }
            sum += value
            count += 1
        }
        mutating func add(_ other: Mean) {
            sum += other.sum
            count = GroupTotals.adding(count, other.count)
        }
        var value: Double? { count == 0 ? nil : sum / Double(count) }
    }

    mutating func add(
        outcome: Int, reason: String?, timeToFirstBatch: Double?, total: Double, arrivalLag: Double?, queueWait: Double?,
        timeout: Double?, itemsSent: Int, itemsUnsent: Int, itemsGenerated: Int, finalAnswerSent: Bool, batches: Int,
        largestBatch: Int, batchSpan: Double?, count: Int = 1, bytesSent: Int = 0
    ) {
        // An aggregated refusal stands for `count` requests; every other row for one.
        requests = Self.adding(requests, count)
        outcomes[outcome] = Self.adding(outcomes[outcome], count)
        if let reason {  // refused: nothing was streamed
            rejections[reason] = Self.adding(rejections[reason] ?? 0, count)
            return
        }
        self.arrivalLag.add(arrivalLag)
        if let timeToFirstBatch { firstBatchDelays.append(timeToFirstBatch) }
        self.total.add(total)
        self.queueWait.add(queueWait)
        self.timeout.add(timeout)
        self.itemsSent = Self.adding(self.itemsSent, itemsSent)
        if WindowScan.outcomes[outcome].hasSuffix("_timeout") { itemsSentBeforeTimeout = Self.adding(itemsSentBeforeTimeout, itemsSent) }
        self.itemsUnsent = Self.adding(self.itemsUnsent, itemsUnsent)
        self.itemsGenerated = Self.adding(self.itemsGenerated, itemsGenerated)
        self.bytesSent = Self.adding(self.bytesSent, bytesSent)
        if itemsGenerated > 0 { deliveredShare.add(Double(itemsSent) / Double(itemsGenerated)) }
        finalAnswer.add(finalAnswerSent ? 1 : 0)
        self.batches.add(Double(batches))
        self.largestBatch = max(self.largestBatch, largestBatch)
        if batches > 1, let batchSpan { batchGap.add(batchSpan / Double(batches - 1)) }
    }

    /// Adds another group's totals: a rollup row, or the same group from another database.
    mutating func add(_ other: GroupTotals) {
        requests = Self.adding(requests, other.requests)
        for index in outcomes.indices { outcomes[index] = Self.adding(outcomes[index], other.outcomes[index]) }
        for (reason, count) in other.rejections { rejections[reason] = Self.adding(rejections[reason] ?? 0, count) }
        firstBatchDelays += other.firstBatchDelays
        firstBatchHistogram.merge(other.firstBatchHistogram)
        total.add(other.total)
        arrivalLag.add(other.arrivalLag)
        queueWait.add(other.queueWait)
        timeout.add(other.timeout)
        deliveredShare.add(other.deliveredShare)
        finalAnswer.add(other.finalAnswer)
        batches.add(other.batches)
        batchGap.add(other.batchGap)
        itemsSent = Self.adding(itemsSent, other.itemsSent)
        itemsSentBeforeTimeout = Self.adding(itemsSentBeforeTimeout, other.itemsSentBeforeTimeout)
        itemsUnsent = Self.adding(itemsUnsent, other.itemsUnsent)
        itemsGenerated = Self.adding(itemsGenerated, other.itemsGenerated)
        bytesSent = Self.adding(bytesSent, other.bytesSent)
        largestBatch = max(largestBatch, other.largestBatch)
        batchesAboveLimit = Self.adding(batchesAboveLimit, other.batchesAboveLimit)
    }

    func figures(group: [String: String], minutes: Double) -> RequestAnalysis.Figures {
        // Percentiles: exact over raw rows alone; from the histogram (within 1%) once rollups are in.
        let exact = firstBatchHistogram.total == 0 ? firstBatchDelays.sorted() : nil
        var merged = firstBatchHistogram
        if exact == nil { for value in firstBatchDelays { merged.add(value) } }
        func percentile(_ p: Double) -> Double? { exact.map { $0.nearestRank(p) } ?? merged.percentile(p) }
        var named: [String: Int] = [:]
        for (index, count) in outcomes.enumerated() where count > 0 { named[WindowScan.outcomes[index]] = count }
        return RequestAnalysis.Figures(
            group: group, requests: requests, outcomes: named, rejections: rejections,
            ttfbP50: percentile(0.50), ttfbP95: percentile(0.95), ttfbP99: percentile(0.99),
            meanTotal: total.value, meanArrivalLag: arrivalLag.value, meanQueueWait: queueWait.value,
            itemsSentBeforeTimeout: itemsSentBeforeTimeout, itemsUnsent: itemsUnsent,
            meanDeliveredShare: deliveredShare.value, finalAnswerRate: finalAnswer.value,
            meanBatchesPerRequest: batches.value, largestBatch: largestBatch, batchesAboveLimit: batchesAboveLimit,
            meanBatchGap: batchGap.value, requestsPerMinute: Double(requests) / minutes,
            rejectionRate: requests == 0 ? 0 : Double(outcomes[WindowScan.rejected]) / Double(requests),
            meanTimeout: timeout.value
        )
    }
}
