import Foundation

/// Reads a log file the supervisor writes and rotates (`NAME.log`, `NAME.log.1.gz` …): the
/// last lines across the backups and the live file, oldest first, filtered by text and time;
/// and the lines added to the live file afterwards, across rotations (`miners logs`).
public struct LogReader: Sendable {
    /// The live file, `LOG_DIR/NAME.log`.
    public let path: String
    /// Backups looked for: `NAME.log.1[.gz]` up to this index.
    public let maxBackups: Int

    public init(path: String, maxBackups: Int = 100) {
        self.path = path
        self.maxBackups = maxBackups
    }

    public struct Filter: Sendable {
        /// Only lines containing this text (bytes, case-sensitive).
        public var text: String?
        /// Only lines whose timestamp, or the timestamp of the line they continue, is this
        /// late or later; lines before any timestamp are left out.
        public var since: Date?

        public init(text: String? = nil, since: Date? = nil) {
            self.text = text
            self.since = since
        }
    }

    /// Where the live file was when `tail` finished reading it: `follow` goes on from there.
    public struct Position: Sendable, Equatable {
        public var device: UInt64
        public var inode: UInt64
        public var offset: Int
    }

    /// The files to read, oldest first: the backups (highest index first), then the live file.
    public func files() -> [String] {
        var found: [String] = []
        for index in stride(from: maxBackups, through: 1, by: -1) {
            // An uncompressed backup is one whose compression failed.
            for candidate in [LogFile.backup(path, index), LogFile.backup(path, index, compressed: false)] where access(candidate, F_OK) == 0 {
                found.append(candidate)
            }
        }
        if access(path, F_OK) == 0 { found.append(path) }
        return found
    }

    /// The last `limit` lines (without their newline) that pass `filter`, oldest first, and
    /// where the live file ended (nil if there is none).
    public func tail(_ limit: Int, filter: Filter = Filter()) throws -> (lines: [String], end: Position?) {
        var kept = TailBuffer(limit: limit)
        var matcher = Matcher(filter: filter)
        var end: Position?
        for file in files() {
            var splitter = LineSplitter()
            let take: (UnsafeRawBufferPointer) -> Void = { bytes in
                for line in splitter.feed(bytes) where matcher.matches(line) { kept.append(line) }
            }
            if file == path {
                guard let fd = Self.openForReading(file) else { continue }
                defer { close(fd) }
                var info = stat()
                guard fstat(fd, &info) == 0 else { continue }
                // Up to the size it has now: lines written later are `follow`'s.
                let size = Int(info.st_size)
                let read = try Self.read(fd, upTo: size, take)
                // A last line still being written is left to `follow`, whole.
                end = Position(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), offset: read - splitter.pendingCount)
                continue
            } else if file.hasSuffix(".gz") {
                do {
                    try Gzip.decompress(file, take)
                } catch where access(file, F_OK) != 0 {
                    // Rotated away while being read: its lines are in the next backup.
                    continue
                }
            } else {
                guard let fd = Self.openForReading(file) else { continue }
                defer { close(fd) }
                _ = try Self.read(fd, upTo: Int.max, take)
            }
            // A backup's last line without a newline counts too.
            if let last = splitter.finish(), matcher.matches(last) { kept.append(last) }
        }
        return (kept.lines.map(Self.text), end)
    }

    /// Reads `fd` from where it is up to `limit` bytes, in 64 KiB chunks; the bytes read.
    static func read(_ fd: Int32, upTo limit: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var total = 0
        while total < limit {
            let want = min(buffer.count, limit - total)
            let count = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, want) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Gzip.Failure(description: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            total += count
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return total
    }

    static func openForReading(_ path: String) -> Int32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }

    static func text(_ line: [UInt8]) -> String {
        var bytes = line[...]
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The last `limit` lines appended.
    struct TailBuffer {
        let limit: Int
        private var storage: [[UInt8]] = []
        private var start = 0

        init(limit: Int) { self.limit = max(0, limit) }

        mutating func append(_ line: [UInt8]) {
            guard limit > 0 else { return }
            storage.append(line)
            if storage.count - start > limit { start += 1 }
            if start >= max(limit, 1024) {
                storage.removeFirst(start)
                start = 0
            }
        }

        var lines: ArraySlice<[UInt8]> { storage[start...] }
    }

    /// The filter, with the time of the last timestamped line seen.
    struct Matcher {
        let filter: Filter
        let needle: [UInt8]?
        var current: Date?

        init(filter: Filter) {
            self.filter = filter
            self.needle = filter.text.map { Array($0.utf8) }
        }

        mutating func matches(_ line: [UInt8]) -> Bool {
            if let since = filter.since {
                if let time = LogReader.timestamp(line) { current = time }
                guard let current, current >= since else { return false }
            }
            if let needle, !needle.isEmpty { return LogReader.contains(line, needle) }
            return true
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        let first = needle[0]
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var match = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    match = false
                    break
                }
                if match { return true }
            }
            index += 1
        }
        return false
    }

    /// The ISO-8601 timestamp a line starts with (`2026-11-26T06:46:20+0000`, with optional
    /// fractional seconds, and `Z`, `+hhmm` or `+hh:mm`), or nil.
    public static func timestamp(_ line: some Collection<UInt8>) -> Date? {
        let bytes = Array(line.prefix(40))
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[from..<(from + count)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func at(_ index: Int, _ character: Character) -> Bool { index < bytes.count && bytes[index] == character.asciiValue }
        guard let year = digits(0, 4), at(4, "-"), let month = digits(5, 2), at(7, "-"), let day = digits(8, 2),
              at(10, "T") || at(10, " "), let hour = digits(11, 2), at(13, ":"), let minute = digits(14, 2), at(16, ":"),
              let second = digits(17, 2), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if at(index, ".") || at(index, ",") {
            index += 1
            var scale = 0.1
            while let digit = digits(index, 1) {
                fraction += Double(digit) * scale
                scale /= 10
                index += 1
            }
        }
        var offset = 0
        if at(index, "Z") {
            offset = 0
        } else if at(index, "+") || at(index, "-") {
            let sign = at(index, "-") ? -1 : 1
            guard let hours = digits(index + 1, 2) else { return nil }
            var minutesAt = index + 3
            if at(minutesAt, ":") { minutesAt += 1 }
            let minutes = digits(minutesAt, 2) ?? 0
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil  // no zone: not the supervisor's or a worker's format
        }
        // Days since 1970-01-01 (proleptic Gregorian).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}

/// The lines appended to a live log file from a position on, across rotations: when the path
/// names another file (rotated) or the file shrank (emptied), the rest of the old one is read,
/// then the new one from its start. Reads are bounded (64 KiB at a time, a line without a
/// newline handed on in 64 KiB pieces).
public final class LogFollower {
    public let path: String
    private var fd: Int32?
    private var identity: (device: UInt64, inode: UInt64)?
    private var offset = 0
    private var splitter = LineSplitter()
    private var matcher: LogReader.Matcher

    /// Follows from `position` (where `tail` stopped), or from the end of the file as it is now.
    public init(path: String, from position: LogReader.Position?, filter: LogReader.Filter = .init()) {
        self.path = path
        self.matcher = LogReader.Matcher(filter: LogReader.Filter(text: filter.text, since: nil))
        reopen(from: position)
    }

    deinit { if let fd { close(fd) } }

    private func reopen(from position: LogReader.Position?) {
        if let fd { close(fd) }
        fd = nil
        identity = nil
        offset = 0
        guard let opened = LogReader.openForReading(path) else { return }
        var info = stat()
        guard fstat(opened, &info) == 0 else {
            close(opened)
            return
        }
        fd = opened
        identity = (UInt64(info.st_dev), UInt64(info.st_ino))
        if let position {
            offset = position.device == UInt64(info.st_dev) && position.inode == UInt64(info.st_ino) && position.offset <= Int(info.st_size)
                ? position.offset : 0
        } else {
            offset = Int(info.st_size)
        }
        lseek(opened, off_t(offset), SEEK_SET)
    }

    /// The complete lines (without newlines) added since the last call.
    public func poll() -> [String] {
        var lines: [String] = []
        drain(into: &lines)
        // Rotated (another file at the path, or none) or emptied: finish the old one, start again.
        var info = stat()
        let current = stat(path, &info) == 0 ? (UInt64(info.st_dev), UInt64(info.st_ino)) : nil
        let replaced = current == nil || identity == nil || current! != identity!
        let shrank = !replaced && Int(info.st_size) < offset
        if current != nil && (replaced || shrank) {
            drain(into: &lines)
            if let last = splitter.finish(), matcher.matches(last) { lines.append(LogReader.text(last)) }
            reopen(from: LogReader.Position(device: 0, inode: 0, offset: 0))
            drain(into: &lines)
        }
        return lines
    }

    private func drain(into lines: inout [String]) {
        guard let fd else { return }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        // At most 16 MiB a poll, so a huge burst does not hold the caller forever.
        for _ in 0..<256 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            offset += count
            buffer.withUnsafeBytes { raw in
                for line in splitter.feed(UnsafeRawBufferPointer(rebasing: raw[0..<count])) where matcher.matches(line) {
                    lines.append(LogReader.text(line))
                }
            }
        }
    }
}
