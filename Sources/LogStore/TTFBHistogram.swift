import Foundation

/// Times to first batch in buckets 2% wide (on a log scale), so that hours summarised apart can
/// be merged and still give percentiles within 1% of the exact ones. Stored in rollups as text,
/// `bucket:count,…`.
struct TTFBHistogram: Equatable {
    private(set) var counts: [Int: Int] = [:]
    static let ratio = 1.02
    /// Below a microsecond every value is one bucket: no clock measures less.
    static let floorMilliseconds = 0.001

    /// The buckets kept: from the floor (a microsecond, bucket -349) to 1.6e14 s. A time beyond
    /// counts in the last one, and a stored bucket outside is skipped, so that no percentile is
    /// infinite or too large for the `Int` of a chart.
    static let buckets = -349...2000

    static func bucket(_ seconds: Double) -> Int {
        let milliseconds = seconds.isNaN ? floorMilliseconds : max(seconds * 1000, floorMilliseconds)
        let bucket = (log(milliseconds) / log(ratio)).rounded(.down)
        return Int(min(max(bucket, Double(buckets.lowerBound)), Double(buckets.upperBound)))
    }

    /// The middle of a bucket, in seconds (geometric, so the error is at most 1% either side).
    static func value(_ bucket: Int) -> Double {
        pow(ratio, Double(bucket) + 0.5) / 1000
    }

    /// Counts add up saturating: hand-edited rollups must not trap the reader.
    var total: Int { counts.values.reduce(0, GroupTotals.adding) }

    mutating func add(_ seconds: Double, count: Int = 1) {
        counts[Self.bucket(seconds), default: 0] = GroupTotals.adding(counts[Self.bucket(seconds), default: 0], count)
    }

    mutating func merge(_ other: TTFBHistogram) {
        for (bucket, count) in other.counts { counts[bucket, default: 0] = GroupTotals.adding(counts[bucket, default: 0], count) }
    }

    /// The nearest-rank percentile `p` (0...1), as `nearestRank` does over exact values.
    func percentile(_ p: Double) -> Double? {
        let total = self.total
        guard total > 0 else { return nil }
        let rank = Swift.max(1, Int((p * Double(total)).rounded(.up)))
        var seen = 0
        for bucket in counts.keys.sorted() {
            seen = GroupTotals.adding(seen, counts[bucket]!)
            if seen >= rank { return Self.value(bucket) }
        }
        return nil
    }

    var text: String {
        counts.keys.sorted().map { "\($0):\(counts[$0]!)" }.joined(separator: ",")
    }

    /// Reads the stored text; a malformed entry is skipped (the database is ours, but a
    /// hand-edited row must not trap the reader).
    init(text: String) {
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let bucket = Int(parts[0]), let count = Int(parts[1]), count > 0, count < 1 << 40,
                  Self.buckets.contains(bucket) else { continue }
            counts[bucket, default: 0] = GroupTotals.adding(counts[bucket, default: 0], count)
        }
    }

    init() {}

    /// Every bucket's middle value and count, for charts.
    var entries: [(value: Double, count: Int)] {
        counts.keys.sorted().map { (Self.value($0), counts[$0]!) }
    }
}
