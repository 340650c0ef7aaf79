import Foundation

/// An `env_file`: `KEY=VALUE` lines, as docker-compose and systemd read them. It holds API keys,
/// so one that others may read (or write) is refused.
///
/// Lines: blank, `# comment`, `KEY=VALUE` or `export KEY=VALUE`; a value in single or double
/// quotes is taken between them, as is; nothing is expanded.
public enum EnvironmentFile {
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var path: String
        public var line: Int?
        public var message: String
        public var description: String { "\(path)\(line.map { ":\($0)" } ?? ""): \(message)" }
    }

    /// Larger files are refused: an env file is a few lines.
    public static let maxBytes = 1 << 20
    public static let maxVariables = 10_000

    /// Opens the file once and checks what was opened (no swap between the check and the
    /// read): a regular file (not a FIFO that would block, not a device), owned by this user,
    /// readable by nobody else, at most `maxBytes`.
    public static func read(_ path: String) throws(Problem) -> [String: String] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Problem(path: path, message: "cannot read it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Problem(path: path, message: "cannot read it: \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw Problem(path: path, message: "is not a regular file") }
        guard info.st_uid == geteuid() else {
            throw Problem(path: path, message: "is owned by uid \(info.st_uid), not by this user (uid \(geteuid())); it holds secrets and sets the processes' environment")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw Problem(
                path: path,
                message: "is readable or writable by others (mode \(String(mode, radix: 8))); it holds secrets: chmod 600 \(path)"
            )
        }
        var bytes = [UInt8](repeating: 0, count: maxBytes + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { throw Problem(path: path, message: "cannot read it: \(String(cString: strerror(errno)))") }
            if got == 0 { break }
            count += got
        }
        guard count <= maxBytes else { throw Problem(path: path, message: "is larger than \(maxBytes) bytes") }
        guard let text = String(validating: bytes[0..<count], as: UTF8.self) else { throw Problem(path: path, message: "is not UTF-8 text") }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(Problem) -> [String: String] {
        var variables: [String: String] = [:]
        // By bytes: Swift takes "\r\n" for one character, and a file edited on Windows must split too.
        for (index, raw) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            var line = String(decoding: raw, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            line = line.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else {
                throw Problem(path: path, line: index + 1, message: "expected KEY=VALUE")
            }
            let key = String(line[..<equals]).trimmingCharacters(in: .whitespaces)
            guard isName(key) else {
                // The line is not quoted: it may hold a secret.
                throw Problem(path: path, line: index + 1, message: "expected KEY=VALUE with a variable name (letters, digits, _; not first a digit) before the =")
            }
            var value = String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            guard !value.utf8.contains(0) else { throw Problem(path: path, line: index + 1, message: "a value holds a NUL byte") }
            variables[key] = value
            guard variables.count <= maxVariables else { throw Problem(path: path, line: index + 1, message: "more than \(maxVariables) variables") }
        }
        return variables
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`, at most 255 bytes.
    public static func isName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 255, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
