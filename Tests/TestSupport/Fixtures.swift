import Foundation

/// Byte-exact captures and vectors from bittensor 10.5.0, kept in Tests/Fixtures.
public enum Fixtures {
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    public static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The repository's root (for configs/ and migrations/).
    public static let repository = directory.deletingLastPathComponent().deletingLastPathComponent()

    /// Splits an HTTP message into its header lines and body.
    public static func http(_ name: String) throws -> (lines: [String], body: [UInt8]) {
        let data = try bytes(name)
        let separator = Array("\r\n\r\n".utf8)
        let end = data.firstRange(of: separator)!
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
        return (head.components(separatedBy: "\r\n"), Array(data[end.upperBound...]))
    }
}

extension Fixtures {
    /// The header fields of an HTTP message's lines (after the start line), in order.
    public static func fields(_ lines: [String]) -> [(name: String, value: String)] {
        lines.dropFirst().map { line in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces))
        }
    }
}
