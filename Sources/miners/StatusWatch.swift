import Foundation
import Supervisor
import Synchronization
import UnixSignals

/// `miners status --watch`: a frame every interval until SIGINT, SIGTERM or SIGHUP (the
/// terminal restored, exit 0) or until standard output is gone (exit 0: nobody is reading).
/// Frames go out with `FDWrite`, never `print`/`FileHandle`, so a closed pipe ends the watch
/// instead of killing it.
final class StatusWatch: Sendable {
    /// Nil once the terminal is restored: a frame drawn late must not land on the shell's screen.
    private let screen: Mutex<WatchScreen?>

    init(interval: Double) {
        screen = Mutex(WatchScreen(terminal: isatty(STDOUT_FILENO) != 0, interval: interval))
    }

    /// Draws what `render` returns (given the sampler that keeps CPU readings between frames).
    func run(_ render: @escaping @Sendable (ProcessUsageSampler) async -> String) async {
        signal(SIGPIPE, SIG_IGN)
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm, .sighup)
        let interval = screen.withLock { $0?.interval ?? 2 }
        guard write(screen.withLock { $0?.enter ?? "" }) else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals {
                    // Now, not after the frame being read: that may wait on a hung supervisor.
                    self.restore()
                    exit(0)
                }
            }
            group.addTask {
                let sampler = ProcessUsageSampler()
                while !Task.isCancelled {
                    let started = ContinuousClock.now
                    let body = await render(sampler)
                    guard self.draw(body) else { return }
                    try? await Task.sleep(until: started.advanced(by: .seconds(interval)), clock: .continuous)
                }
            }
            await group.next()
            group.cancelAll()
        }
        restore()
    }

    /// Whether standard output took the frame.
    private func draw(_ body: String) -> Bool {
        screen.withLock { screen in
            guard var current = screen else { return false }
            let text = current.frame(body, at: Date(), size: current.terminal ? Self.terminalSize() : nil)
            screen = current
            return write(text)
        }
    }

    private func restore() {
        screen.withLock { screen in
            if let leave = screen?.leave, !leave.isEmpty { write(leave) }
            screen = nil
        }
    }

    @discardableResult
    private func write(_ text: String) -> Bool {
        text.isEmpty || FDWrite.all(STDOUT_FILENO, Array(text.utf8)) == nil
    }

    /// Rows and columns of the terminal, read each frame as it may be resized.
    private static func terminalSize() -> (rows: Int, columns: Int)? {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 else { return nil }
        return (Int(size.ws_row), Int(size.ws_col))
    }
}
