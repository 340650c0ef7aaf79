import Foundation

/// `fleet:` — this host's part of a fleet: its log rows are replicated to a PostgreSQL server
/// shared by every host. The server's URL holds a password: it comes only from an environment
/// variable (or the `env_file`), is held in a `Secret`, and no message ever shows it.
public struct FleetConfig: Sendable, Equatable {
    /// The variable that holds the URL (`postgres_env`), for messages.
    public var variable: String
    /// `postgres://user:password@host:port/database?sslmode=…`.
    public var url: Secret
    /// The parts of the URL, checked when the config was read.
    public var postgres: PostgresURL
    /// The `env_file` the URL was read from, for messages.
    public var environmentFile: String?
    /// This machine's name in the fleet's tables (`host` column): [A-Za-z0-9._-]{1,63}.
    public var host: String
    /// Whether `host` was written in the config; if not, `--host NAME` (one config for every
    /// host) names this machine in the fleet's tables too.
    public var hostGiven = false

    public init(variable: String, url: Secret, postgres: PostgresURL, environmentFile: String? = nil, host: String) {
        self.variable = variable
        self.url = url
        self.postgres = postgres
        self.environmentFile = environmentFile
        self.host = host
    }

    /// `[A-Za-z0-9._-]{1,63}`.
    public static func isHostName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "-")
        }
    }
}

/// A PostgreSQL URL, taken apart. Its description never shows the password.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, without checking the certificate (libpq's default).
        case prefer
        /// TLS, without checking the certificate.
        case require
        /// TLS with the certificate checked against the system's CAs and the host name.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var password: Secret?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode

    public init(user: String, password: Secret?, host: String, port: Int = 5432, database: String, sslMode: SSLMode = .prefer) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
    }

    public var description: String { "postgres://\(user)\(password == nil ? "" : ":<secret>")@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)" }

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case notPostgres, noHost, noUser, noDatabase, badPort, badSSLMode, unknownParameter(String), badEncoding

        /// What is wrong, after "it" ("the value of X is not a PostgreSQL URL: it …"); never the URL.
        public var description: String {
            switch self {
            case .notPostgres: "does not start with postgres:// or postgresql://"
            case .noHost: "has no host (or an invalid one)"
            case .noUser: "has no user (postgres://USER:PASSWORD@HOST/DATABASE)"
            case .noDatabase: "has no database name (postgres://USER:PASSWORD@HOST/DATABASE)"
            case .badPort: "has a port that is not a number from 1 to 65535"
            case .badSSLMode: "has an sslmode other than \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))"
            case .unknownParameter(let key): "has the parameter '\(key.filter { $0.isLetter || $0 == "_" })'; only sslmode is understood"
            case .badEncoding: "has a user, password or database that is not valid percent-encoding or holds a control character"
            }
        }
    }

    /// Whether `text` is meant as a PostgreSQL URL (a `--db` that is not a file).
    public static func isPostgres(_ text: String) -> Bool {
        let start = text.prefix(13).lowercased()
        return start.hasPrefix("postgres://") || start.hasPrefix("postgresql://")
    }

    /// Parses `postgres://` or `postgresql://` URLs: user (required), password, host (a name,
    /// IPv4 or [IPv6]), port (default 5432), database (required), `sslmode` (disable, prefer,
    /// require, verify-full; default prefer). Percent-escapes are decoded in user, password and
    /// database. Problems never quote the text (it holds the password).
    public static func parse(_ text: String) throws(Problem) -> PostgresURL {
        var rest: Substring
        let start = text.prefix(13).lowercased()  // the scheme is case-insensitive
        if start.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else if start.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else {
            throw .notPostgres
        }
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw .noDatabase }
        let authority = rest[..<slash]
        let databaseText = rest[rest.index(after: slash)...]
        guard !databaseText.isEmpty else { throw .noDatabase }
        guard let database = decode(databaseText) else { throw .badEncoding }
        guard let at = authority.lastIndex(of: "@") else { throw .noUser }
        let credentials = authority[..<at]
        var hostPort = authority[authority.index(after: at)...]
        var user = credentials
        var password: Substring?
        if let colon = credentials.firstIndex(of: ":") {
            user = credentials[..<colon]
            password = credentials[credentials.index(after: colon)...]
        }
        guard !user.isEmpty else { throw .noUser }
        guard let userText = decode(user) else { throw .badEncoding }
        let passwordText = try password.map { (value: Substring) throws(Problem) -> String in
            guard let decoded = decode(value) else { throw .badEncoding }
            return decoded
        }
        var host: String
        var port = 5432
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw .noHost }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            hostPort = hostPort[hostPort.index(after: close)...]
            if !hostPort.isEmpty {
                guard hostPort.hasPrefix(":"), let number = Int(hostPort.dropFirst()), (1...65535).contains(number) else { throw .badPort }
                port = number
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(number) else { throw .badPort }
            port = number
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty, host.utf8.count <= 253,
              host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "@") })
        else { throw .noHost }
        var sslMode = SSLMode.prefer
        for parameter in query.split(separator: "&") where !parameter.isEmpty {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(pair[0])
            guard key == "sslmode" else { throw .unknownParameter(String(key.prefix(32))) }
            guard pair.count == 2, let mode = SSLMode(rawValue: String(pair[1])) else { throw .badSSLMode }
            sslMode = mode
        }
        return PostgresURL(user: userText, password: passwordText.map(Secret.init), host: host, port: port, database: database, sslMode: sslMode)
    }

    /// Percent-escapes decoded; nil when the text or what it decodes to holds a control character
    /// (a NUL or a newline would reach the server's startup message and every log line).
    private static func decode(_ text: Substring) -> String? {
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }), let decoded = String(text).removingPercentEncoding,
              decoded.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f })
        else { return nil }
        return decoded
    }
}
