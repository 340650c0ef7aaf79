import Foundation
import LogStore

/// The frames of `miners status --watch`. On a terminal each frame is drawn in place on the
/// alternate screen — cursor home, every line cleared to its end, the rest cleared below — so
/// nothing flickers or scrolls, and the terminal's own screen comes back on exit. Elsewhere (a
/// file, a pipe) frames follow one another with a blank line between, as a log.
public struct WatchScreen: Sendable {
    public let terminal: Bool
    public let interval: Double
    private var frames = 0

    public init(terminal: Bool, interval: Double) {
        self.terminal = terminal
        self.interval = interval
    }

    /// Before the first frame: the alternate screen, the cursor hidden.
    public var enter: String { terminal ? "\u{1B}[?1049h\u{1B}[?25l" : "" }
    /// On exit: the cursor shown, the terminal's own screen back.
    public var leave: String { terminal ? "\u{1B}[?25h\u{1B}[?1049l" : "" }

    /// The header with the time and the interval, `body`, and on a terminal the footer; there
    /// cut to `size` where known (a taller frame would scroll, a wider line wrap), keeping the footer.
    public mutating func frame(_ body: String, at date: Date, size: (rows: Int, columns: Int)? = nil) -> String {
        defer { frames += 1 }
        let header = "miners status, every \(String(format: "%g", interval))s: \(date.formatted(.iso8601))"
        var lines = [header, ""] + body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        guard terminal else { return (frames == 0 ? "" : "\n") + lines.joined(separator: "\n") + "\n" }
        // Names and details come from the config and the log database: an escape sequence in
        // one must not move the cursor, retitle or clear the terminal drawn on.
        lines = lines.map { PrintableText.line($0) }
        lines += ["", "Ctrl-C to quit"]
        if let size, size.rows > 1, size.columns > 1 {
            if lines.count > size.rows { lines = lines.prefix(size.rows - 1) + [lines[lines.count - 1]] }
            // One column short: a line that fills the last one would lose it to the clearing.
            lines = lines.map { String($0.prefix(size.columns - 1)) }
        }
        return "\u{1B}[H" + lines.joined(separator: "\u{1B}[K\n") + "\u{1B}[J"
    }
}
