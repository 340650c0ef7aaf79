/// The transaction pool's refusals of `serve_axon`, in words. Subtensor answers
/// `{"code":1010,"message":"Invalid Transaction","data":"Custom error: N"}` with N from
/// `CustomTransactionError` (CHAIN.md §1.3); bittensor passes these on as bare numbers.
public enum ServeError {
    public static let hotkeyNotRegistered = 10
    public static let invalidIPAddress = 11
    public static let rateLimited = 12
    public static let invalidPort = 13

    /// N of "Custom error: N", when the data says so.
    public static func customCode(_ data: String?) -> Int? {
        guard let data, let range = data.range(of: "Custom error: ") else { return nil }
        return Int(data[range.upperBound...].prefix { $0.isNumber })
    }

    public static func describe(code: Int?, data: String?, netuid: Int) -> String {
        switch customCode(data) {
        case hotkeyNotRegistered?:
            return "the hotkey is not registered on subnet \(netuid) (chain error 10, HotKeyNotRegisteredInNetwork): register it first (btcli subnet register)"
        case invalidIPAddress?:
            return "the chain refuses this IP address (chain error 11, InvalidIpAddress): 127.0.0.1, ::1 and all-ones addresses are invalid"
        case rateLimited?:
            return "served too recently on subnet \(netuid) (chain error 12, ServingRateLimitExceeded)"
        case invalidPort?:
            return "the chain refuses port 0 (chain error 13, InvalidPort)"
        case 255?:
            return "the chain rejects the request as malformed (chain error 255, BadRequest: an ip_type other than 4 or 6?)"
        case let other?:
            return "the transaction pool refused it with custom error \(other)"
        case nil:
            let text = [data, code.map { "code \($0)" }].compactMap { $0 }.joined(separator: ", ")
            return "the transaction pool refused it: \(text.isEmpty ? "no reason given" : text)"
        }
    }
}
