/// A string as Python holds it: a sequence of code points, lone surrogates allowed.
///
/// Python's `json` module accepts `"\ud800"` and the body hash is computed over what it decoded,
/// so the wire layer keeps code points rather than a Swift `String` (which cannot hold a lone
/// surrogate). `string` gives the text for everything else, with U+FFFD for lone surrogates.
public struct PythonString: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var codePoints: [UInt32]

    public init(codePoints: [UInt32]) {
        self.codePoints = codePoints
    }

    public init(_ string: String) {
        self.codePoints = string.unicodeScalars.map(\.value)
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// The text as a Swift string; a lone surrogate becomes U+FFFD.
    public var string: String {
        var scalars = String.UnicodeScalarView()
        scalars.reserveCapacity(codePoints.count)
        for point in codePoints {
            scalars.append(Unicode.Scalar(point) ?? "\u{FFFD}")
        }
        return String(scalars)
    }

    public var description: String { string }
}
