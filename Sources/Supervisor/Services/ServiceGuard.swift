import CProcessControl
import Foundation
import Synchronization

/// `miners service-run`: the process between the supervisor and a service's server.
///
/// A server is any program, so it cannot be asked to watch the supervisor's pipe as a worker
/// does. The guard does it for it: it reads the supervisor's orders on standard input (`stop`),
/// sends the service's stop signal, and SIGKILLs what is left of the server after the grace
/// period. When the supervisor dies, even by SIGKILL, the kernel closes the pipe and the guard
/// stops the server the same way.
///
/// Nothing of the server outlives it: the server runs in the guard's process group (the
/// supervisor's SIGKILL of that group ends both), it gets SIGKILL if the guard itself is killed
/// (its parent-death signal, set before the server's program is executed), and the guard is a
/// child subreaper: a process the server leaves behind — even one that detached into a session
/// of its own — becomes the guard's child, and is killed when the server has exited.
///
/// The guard exits as the server did: the same code, or the same signal.
public enum ServiceGuard {
    /// Set by SIGTERM, SIGINT or SIGHUP to the guard: the same as a `stop` order.
    static let signalled = Atomic<Bool>(false)

    /// Starts the server and relays orders until it exits; never returns.
    ///
    /// The server's parent-death signal fires when the *thread* that started it exits: this
    /// function blocks that thread until the process exits, and never returns to the runtime.
    public static func run(command: [String], stopSignal: Int32, grace: Double) -> Never {
        signal(SIGPIPE, SIG_IGN)
        for number in [SIGTERM, SIGINT, SIGHUP] {
            signal(number) { _ in ServiceGuard.signalled.store(true, ordering: .relaxed) }
        }
        _ = process_control_become_subreaper()
        // A group of its own (the supervisor starts it so already): the sweep must never reach
        // whoever started the guard.
        _ = setpgid(0, 0)
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let child: pid_t
        do {
            child = try spawn([me, "service-run", "--exec-child", String(getpid()), "--"] + command)
        } catch {
            say("cannot start \(command[0]): \(error)")
            exit(127)
        }
        say("server pid \(child): \(command.joined(separator: " "))")
        let clock = ContinuousClock()
        var killAt: ContinuousClock.Instant?
        var killed = false
        var orders = OrderReader()
        while true {
            // Reaps the server and whatever the guard adopted.
            var status: Int32 = 0
            while true {
                let reaped = waitpid(-1, &status, WNOHANG)
                if reaped == child {
                    sweep()
                    exitAsChild(status)
                }
                if reaped <= 0 { break }
            }
            let stop = orders.poll(milliseconds: 100) || signalled.load(ordering: .relaxed)
            if stop, killAt == nil {
                say(orders.supervisorGone ? "the supervisor is gone: stopping the server" : "stopping the server")
                kill(child, stopSignal)
                killAt = clock.now + .milliseconds(Int64(grace * 1000))
            }
            if let deadline = killAt, !killed, clock.now >= deadline {
                say("the server did not stop within \(grace) s: SIGKILL to it and its processes")
                kill(child, SIGKILL)
                killed = true
            }
        }
    }

    /// SIGKILL to every process left in the guard's group and every one it adopted, until none
    /// is left (each pass reaps; at most 50 passes).
    static func sweep() {
        let me = getpid()
        for _ in 0..<50 {
            let group = getpgrp() == me ? me : -1  // only its own group
            let left = ProcessTree.members(parent: me, group: group).filter { $0 != me }
            guard !left.isEmpty else { return }
            say("ending \(left.count) process\(left.count == 1 ? "" : "es") the server left behind: \(left.prefix(8).map(String.init).joined(separator: ", "))")
            for pid in left { kill(pid, SIGKILL) }
            usleep(20_000)
            var status: Int32 = 0
            while waitpid(-1, &status, WNOHANG) > 0 {}
        }
    }

    /// The child's side, before it becomes the server: die with the guard (and check the guard
    /// did not die already), then execute the program.
    public static func execChild(command: [String], parent: pid_t) -> Never {
        _ = process_control_set_parent_death_signal(SIGKILL)
        guard getppid() == parent else { exit(1) }
        // This runs on one of the Swift runtime's threads, which block most signals, and a
        // program inherits its thread's mask: the server must get its stop signal.
        var empty = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, nil)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGXFSZ] { signal(number, SIG_DFL) }
        var arguments = command.map { strdup($0) } + [nil]
        execvp(command[0], &arguments)
        say("cannot run \(command[0]): \(String(cString: strerror(errno)))")
        exit(127)
    }

    /// The server in the guard's process group, with default signal handling and no input.
    static func spawn(_ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2] { sigaddset(&defaults, number) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, &argv, environ)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL) }
        return pid
    }

    /// Exits with the server's code, or dies of its signal.
    static func exitAsChild(_ status: Int32) -> Never {
        let signal = status & 0x7f
        if signal == 0 { exit((status >> 8) & 0xff) }
        Glibc.signal(signal, SIG_DFL)
        kill(getpid(), signal)
        exit(128 + signal)
    }

    static func say(_ text: String) {
        let line = Array("[service-run] \(text)\n".utf8)
        _ = line.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }
}

/// The supervisor's orders on standard input: a line `stop`, or end-of-file when it is gone.
struct OrderReader {
    private var line: [UInt8] = []
    private var open = true
    private(set) var supervisorGone = false

    /// Waits up to `milliseconds` for input; true once a stop is ordered or the pipe is closed.
    mutating func poll(milliseconds: Int32) -> Bool {
        guard open else {
            usleep(UInt32(milliseconds) * 1000)
            return supervisorGone
        }
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&descriptor, 1, milliseconds) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
        if count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN) {
            open = false
            supervisorGone = true
            return true
        }
        var stop = false
        for byte in buffer.prefix(max(count, 0)) {
            if byte == UInt8(ascii: "\n") {
                if line == Array("stop".utf8) { stop = true }
                line.removeAll(keepingCapacity: true)
            } else if line.count < 64 {
                line.append(byte)
            }
        }
        return stop
    }
}
