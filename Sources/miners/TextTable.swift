import Foundation
import LogStore

/// Rows as columns padded to their widest cell; the first row is the header. A cell's control
/// characters (a line feed in a peer's error message included) are shown as `?`: one row is
/// one line, and no escape sequence reaches the terminal.
func align(_ table: [[String]]) -> String {
    let rows = table.map { $0.map { PrintableText.line($0) } }
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n")
}

/// A progress line on standard error, rewritten in place on a terminal.
func progress(_ line: String, final: Bool = false) {
    let terminal = isatty(STDERR_FILENO) != 0
    guard terminal || final else { return }
    FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[K" : "") + line + (final ? "\n" : "")).utf8))
}
