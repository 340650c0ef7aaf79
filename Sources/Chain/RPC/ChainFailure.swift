/// A chain operation that cannot go on, in words for the operator.
public struct ChainFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
