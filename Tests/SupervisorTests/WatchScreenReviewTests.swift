import Foundation
import Testing
@testable import Supervisor

/// Review of #18: a miner's name or an alert's detail (config, log database) reaches the
/// `status --watch` frame; its escape sequences must not reach the terminal.
@Suite struct WatchScreenReviewTests {
    @Test func controlCharactersOfTheBodyAreShownNotSent() {
        var screen = WatchScreen(terminal: true, interval: 2)
        let body = "NAME\n\u{1B}]0;pwned\u{07}\u{1B}[2J m1\tx \u{9B}31m\u{7F}"
        let frame = screen.frame(body, at: Date(timeIntervalSince1970: 0), size: (rows: 40, columns: 200))
        #expect(!frame.contains("\u{07}") && !frame.contains("\u{1B}]") && !frame.contains("\u{1B}[2J") && !frame.contains("\u{9B}"))
        #expect(frame.contains("?]0;pwned??[2J m1 x ?31m?"), "\(frame.debugDescription)")
        // Only the frame's own sequences remain.
        let escapes = frame.components(separatedBy: "\u{1B}").dropFirst().map { String($0.prefix(2)) }
        #expect(Set(escapes).isSubset(of: ["[H", "[K", "[J"]), "\(escapes)")
    }
}
