import Foundation

/// How a worker process ended.
public enum WorkerExit: Sendable, Equatable, CustomStringConvertible {
    case exited(code: Int32)
    case signaled(Int32)

    /// The exit status `miners worker` uses after a backend failure with `stop_on_forward_exception`.
    public static let forwardExceptionCode: Int32 = 3

    public var code: Int32? {
        if case .exited(let code) = self { return code }
        return nil
    }

    public var signal: Int32? {
        if case .signaled(let signal) = self { return signal }
        return nil
    }

    public var isForwardException: Bool { code == Self.forwardExceptionCode }

    public var description: String {
        switch self {
        case .exited(let code) where code == Self.forwardExceptionCode:
            "exit \(code) (stop_on_forward_exception: the backend failed)"
        case .exited(let code):
            "exit \(code)"
        case .signaled(let signal):
            "signal \(signal) (\(String(cString: strsignal(signal))))"
        }
    }
}
