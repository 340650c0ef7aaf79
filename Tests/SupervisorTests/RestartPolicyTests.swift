import Config
import Testing
@testable import Supervisor

@Suite struct RestartPolicyTests {
    func policy(maxRestarts: Int = 100, window: Double = 60, minUptime: Double = 10) -> RestartPolicy {
        var config = RestartPolicyConfig()
        config.backoffInitial = 0.5
        config.backoffMax = 30
        config.maxRestarts = maxRestarts
        config.window = window
        config.minUptime = minUptime
        return RestartPolicy(config)
    }

    func delays(_ decisions: [RestartPolicy.Decision]) -> [Double] {
        decisions.compactMap { if case .restart(let delay) = $0 { delay } else { nil } }
    }

    @Test func backoffDoublesUpToTheCap() {
        var policy = policy()
        let decisions = (0..<9).map { i in policy.decide(now: Double(i), uptime: 0.1, jitter: 0.5) }
        #expect(delays(decisions) == [0.5, 1, 2, 4, 8, 16, 30, 30, 30])
    }

    @Test func jitterStaysWithinTwentyPercent() {
        var low = policy(), high = policy()
        #expect(low.decide(now: 0, uptime: 0, jitter: 0) == .restart(after: 0.4))
        #expect(high.decide(now: 0, uptime: 0, jitter: 0.999_999).restartDelay! < 0.6)
        #expect(high.decide(now: 1, uptime: 0, jitter: 0.999_999).restartDelay! > 1.19)
    }

    @Test func aLongRunResetsTheBackoff() {
        var policy = policy()
        _ = policy.decide(now: 0, uptime: 1, jitter: 0.5)
        _ = policy.decide(now: 1, uptime: 1, jitter: 0.5)
        #expect(policy.decide(now: 2, uptime: 1, jitter: 0.5) == .restart(after: 2))
        #expect(policy.decide(now: 100, uptime: 50, jitter: 0.5) == .restart(after: 0.5))
    }

    @Test func tooManyRestartsInTheWindowIsACrashLoop() {
        var policy = policy(maxRestarts: 3, window: 60)
        for i in 0..<3 {
            guard case .restart = policy.decide(now: Double(i), uptime: 0, jitter: 0.5) else {
                Issue.record("restart \(i) refused")
                return
            }
        }
        #expect(policy.decide(now: 10, uptime: 0, jitter: 0.5) == .crashLooping(restarts: 3, window: 60))
    }

    @Test func restartsOutsideTheWindowAreForgotten() {
        var policy = policy(maxRestarts: 2, window: 10)
        _ = policy.decide(now: 0, uptime: 0, jitter: 0.5)
        _ = policy.decide(now: 1, uptime: 0, jitter: 0.5)
        guard case .restart = policy.decide(now: 30, uptime: 0, jitter: 0.5) else {
            Issue.record("restarts 30 s ago should have left the window")
            return
        }
    }
}

extension RestartPolicy.Decision {
    var restartDelay: Double? { if case .restart(let delay) = self { delay } else { nil } }
}
