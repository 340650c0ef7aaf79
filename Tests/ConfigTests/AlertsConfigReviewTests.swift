import Foundation
import Testing
@testable import Config

/// Review of #18: a webhook URL the HTTP client cannot take is a config error, not a trap at
/// the first alert.
@Suite struct AlertsConfigReviewTests {
    let prefix = "ALERTS_REVIEW_\(UInt32.random(in: 0...UInt32.max))_"

    func failure(_ alerts: String) -> ConfigError? {
        do {
            _ = try MinersConfig.parse(
                yaml: alerts + "miners:\n  - {name: m, hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, port: 9000, backend: {kind: mock}}\n",
                file: "c.yaml"
            )
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: ["http://127.0.0.1:99999/secret-path", "https://hooks.example:0/secret-path", "http://[::1]:70000/secret-path"])
    func aPortBeyondSixteenBitsIsRefusedWithoutShowingTheURL(url: String) throws {
        setenv(prefix + "URL", url, 1)
        let error = try #require(failure("alerts:\n  webhooks:\n    - {kind: json, url_env: \(prefix)URL}\n"))
        #expect(error.description.contains("port outside 1 to 65535"), "\(error)")
        #expect(!error.description.contains("secret-path"))
    }

    @Test func aTelegramAPIURLWithSuchAPortIsRefusedToo() throws {
        setenv(prefix + "T", "123:abc", 1)
        let error = try #require(failure("alerts:\n  webhooks:\n    - {kind: telegram, token_env: \(prefix)T, chat_id: \"1\", api_url: \"http://127.0.0.1:65536\"}\n"))
        #expect(error.description.contains("api_url") && error.description.contains("port outside"), "\(error)")
    }

    @Test func anOrdinaryPortStillReads() throws {
        setenv(prefix + "OK", "http://127.0.0.1:65535/hook", 1)
        #expect(failure("alerts:\n  webhooks:\n    - {kind: json, url_env: \(prefix)OK}\n") == nil)
    }
}
