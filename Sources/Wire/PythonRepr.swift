/// Python's `repr()` of `str` and of `list[str]`, byte for byte as CPython 3 writes them.
///
/// The body hash covers `str(messages)`, so quote choice, escapes and the printable test must be
/// CPython's (`unicode_repr` in Objects/unicodeobject.c).
public enum PythonRepr {
    /// `repr(list_of_str)`: `['a', "it's"]`.
    public static func list(_ items: [PythonString]) -> String {
        "[" + items.map(string).joined(separator: ", ") + "]"
    }

    /// `repr(s)` for one string.
    public static func string(_ text: PythonString) -> String {
        let points = text.codePoints
        let singleQuote: UInt32 = 0x27, doubleQuote: UInt32 = 0x22
        // Single quotes unless the text has a single quote and no double quote.
        let quote = points.contains(singleQuote) && !points.contains(doubleQuote) ? doubleQuote : singleQuote
        var out = String.UnicodeScalarView()
        out.append(Unicode.Scalar(quote)!)
        for point in points {
            switch point {
            case quote, 0x5C:
                out.append("\\")
                out.append(Unicode.Scalar(point)!)
            case 0x09: out.append(contentsOf: "\\t".unicodeScalars)
            case 0x0A: out.append(contentsOf: "\\n".unicodeScalars)
            case 0x0D: out.append(contentsOf: "\\r".unicodeScalars)
            case 0..<0x20, 0x7F: appendEscape(point, prefix: "\\x", digits: 2, to: &out)
            case 0x20..<0x7F: out.append(Unicode.Scalar(point)!)
            default:
                if isPrintable(point) {
                    out.append(Unicode.Scalar(point)!)
                } else if point <= 0xFF {
                    appendEscape(point, prefix: "\\x", digits: 2, to: &out)
                } else if point <= 0xFFFF {
                    appendEscape(point, prefix: "\\u", digits: 4, to: &out)
                } else {
                    appendEscape(point, prefix: "\\U", digits: 8, to: &out)
                }
            }
        }
        out.append(Unicode.Scalar(quote)!)
        return String(out)
    }

    /// CPython's `Py_UNICODE_ISPRINTABLE`: not in Cc, Cf, Cs, Co, Cn, Zl, Zp, or Zs other than
    /// the ASCII space. Swift's Unicode tables stand in for CPython's; they agree for every
    /// code point assigned by Unicode 14 (Python 3.11).
    static func isPrintable(_ point: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(point) else { return false }  // a surrogate: Cs
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator:
            return false
        case .spaceSeparator:
            return point == 0x20
        default:
            return true
        }
    }

    private static func appendEscape(_ point: UInt32, prefix: String, digits: Int, to out: inout String.UnicodeScalarView) {
        let hex = String(point, radix: 16)
        out.append(contentsOf: prefix.unicodeScalars)
        out.append(contentsOf: String(repeating: "0", count: digits - hex.count).unicodeScalars)
        out.append(contentsOf: hex.unicodeScalars)
    }
}
