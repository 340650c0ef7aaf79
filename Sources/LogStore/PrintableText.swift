/// Text from outside (a client's header, a model server's answer, a chain node's error) as it
/// may be shown: on a terminal an escape sequence would move the cursor, retitle or clear it,
/// and in a log file a line break would forge a line.
public enum PrintableText {
    /// C0, DEL, C1, and the line and paragraph separators: what a terminal or a line-based
    /// reader acts on rather than shows.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
    }

    /// `text` with each control character shown as `?`, a tab as a space.
    public static func line(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            scalars.append(scalar == "\t" ? " " : isControl(scalar) ? "?" : scalar)
        }
        return String(scalars)
    }
}
