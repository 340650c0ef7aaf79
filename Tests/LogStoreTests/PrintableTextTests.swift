import Testing
@testable import LogStore

/// A stranger's text (a header, a model server's or a chain node's answer) as the log keeps it
/// and the terminal shows it.
@Suite struct PrintableTextTests {
    @Test func controlCharactersAreShownAsQuestionMarks() {
        let hostile = "a\u{1B}[2Jb\u{07}\u{0}\r\nc\u{7F}\u{85}\u{9B}31m\u{2028}\u{2029}\td"
        #expect(PrintableText.line(hostile) == "a?[2Jb????c???31m?? d")
        // Bidirectional controls would show a hotkey's characters reordered.
        #expect(PrintableText.line("5F\u{202E}abc\u{2066}d\u{200F}\u{061C}") == "5F?abc?d??")
        // A text of several lines keeps its line feeds, and only those.
        #expect(PrintableText.line("a\u{1B}\nb\r\nc", keepingLineFeeds: true) == "a?\nb?\nc")
        // Everything a terminal shows rather than acts on is kept as it is.
        #expect(PrintableText.line("5Grw…é 中文 🙂 ~ \u{A0}x") == "5Grw…é 中文 🙂 ~ \u{A0}x")
    }

    @Test func aClientsTextIsBoundedAndPrintable() {
        #expect(RequestRecord.bounded("5Evil\u{9B}2J", to: 96) == "5Evil?2J")
        #expect(RequestRecord.bounded("abcdef", to: 6) == "abcdef")
        #expect(RequestRecord.bounded("abcdefg", to: 6) == "abcdef…")
        // An attacker's megabyte costs a prefix, not a count of the whole.
        let huge = String(repeating: "\u{1B}x", count: 500_000)
        let kept = RequestRecord.bounded(huge)
        #expect(kept.count == 97 && kept.hasSuffix("…") && !kept.unicodeScalars.contains("\u{1B}"))
    }
}
