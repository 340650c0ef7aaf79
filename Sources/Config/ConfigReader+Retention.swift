import Yams

extension ConfigReader {
    static let retentionKeys = ["batches", "requests", "rollups"]

    /// `retention: {batches: 7d, requests: 90d, rollups: forever}`; each key optional.
    func retention(_ node: Node?) throws(ConfigError) -> RetentionConfig {
        var config = RetentionConfig()
        guard let node else { return config }
        let fields = try entries(node, known: Self.retentionKeys, field: "retention")
        if let value = fields["batches"] { config.batches = try horizon(value, field: "retention.batches") }
        if let value = fields["requests"] { config.requests = try horizon(value, field: "retention.requests") }
        if let value = fields["rollups"] { config.rollups = try horizon(value, field: "retention.rollups") }
        // A shorter horizon after a longer one: rows are summarised before their parts go.
        // nil is forever, longer than any number of days.
        func longer(_ a: Double?, than b: Double?) -> Bool {
            guard let b else { return false }
            return a.map { $0 > b } ?? true
        }
        if longer(config.batches, than: config.requests) {
            throw error(fields["batches"] ?? node, field: "retention.batches", "may not be longer than retention.requests (a request's batches go with it)")
        }
        if longer(config.requests, than: config.rollups) {
            throw error(fields["requests"] ?? node, field: "retention.requests", "may not be longer than retention.rollups (raw rows are summarised into rollups before they go)")
        }
        return config
    }

    /// `forever`, or a number with a unit: `36h`, `7d`, `12w` (`s`, `m`, `h`, `d`, `w`), from a
    /// day to 100 years.
    func horizon(_ node: Node, field: String) throws(ConfigError) -> Double? {
        let problem = error(node, field: field, "expected 'forever' or a duration from 1d to 36525d such as 36h, 7d or 12w, got '\(node.string.map { String($0.prefix(40)) } ?? "?")'")
        guard node.scalar != nil, let text = node.string?.trimmingCharacters(in: .whitespaces).lowercased(), text.utf8.count <= 32 else { throw problem }
        if text == "forever" { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        guard let unit = text.last, let multiplier = units[unit], let number = Double(text.dropLast()), number.isFinite else { throw problem }
        let seconds = number * multiplier
        guard seconds >= RetentionConfig.minimum, seconds <= RetentionConfig.maximum else { throw problem }
        return seconds
    }
}
