/// One condition found wrong at one check: what, about whom, and the details of the moment.
public struct Alert: Sendable, Equatable {
    public struct Key: Sendable, Hashable {
        public var kind: AlertKind
        public var subject: String
    }

    public var kind: AlertKind
    /// A miner's or service's name, or a directory.
    public var subject: String
    /// How the subject is named in a message: `miner`, `service`, `file system of`.
    public var noun: String
    /// What is wrong, as of this check.
    public var detail: String

    public init(kind: AlertKind, subject: String, noun: String, detail: String) {
        self.kind = kind
        self.subject = subject
        self.noun = noun
        self.detail = detail
    }

    public var key: Key { Key(kind: kind, subject: subject) }
}
