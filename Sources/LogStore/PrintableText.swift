/// Text from outside (a client's header, a model server's answer, a chain node's error) as it
/// may be shown: on a terminal an escape sequence would move the cursor, retitle or clear it,
/// and in a log file a line break would forge a line.
public enum PrintableText {
    /// C0, DEL, C1, the line and paragraph separators, and the bidirectional controls: what
    /// a terminal or a line-based reader acts on rather than shows (a bidi control would show
    /// a hotkey's characters reordered).
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// `text` with each control character shown as `?`, a tab as a space; with
    /// `keepingLineFeeds`, a text of several lines (each made printable).
    public static func line(_ text: String, keepingLineFeeds: Bool = false) -> String {
        let kept: Unicode.Scalar? = keepingLineFeeds ? "\n" : nil
        guard text.unicodeScalars.contains(where: { isControl($0) && $0 != kept }) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            scalars.append(scalar == "\t" ? " " : scalar == kept ? scalar : isControl(scalar) ? "?" : scalar)
        }
        return String(scalars)
    }
}
