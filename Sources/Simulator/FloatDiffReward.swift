import Foundation

/// The einstein subnet's `float_diff` reward: the answer's number against the reference,
/// 1 when equal, falling linearly with the relative error to 0 at 100 % (and at 99.9 %).
///
/// The number is the last word of the answer that reads as one (trailing dots stripped,
/// thousands commas removed), looked for after the last `the final answer is:` when the
/// answer has one. Plain numbers and `a/b` fractions are read; the subnet also evaluates
/// symbolic expressions, which a mock never produces.
public enum FloatDiffReward {
    public static func score(reference: Double, completion: String) -> Double {
        guard let predicted = number(in: completion) else { return 0 }
        if predicted == reference { return 1 }
        var difference = min(abs((reference - predicted) / (reference + 1e-10)), 1)
        if difference > 0.999 { difference = 1 }
        return 1 - difference
    }

    public static func number(in completion: String) -> Double? {
        var text = Substring(completion)
        if let marker = completion.range(of: FinalAnswer.marker, options: [.caseInsensitive, .backwards]) {
            text = completion[marker.upperBound...]
        }
        for word in text.split(whereSeparator: \.isWhitespace).reversed() {
            var cleaned = word.replacingOccurrences(of: ",", with: "")
            while cleaned.hasPrefix(".") { cleaned.removeFirst() }
            while cleaned.hasSuffix(".") { cleaned.removeLast() }
            if let value = Double(cleaned), value.isFinite { return value }
            let parts = cleaned.split(separator: "/")
            if parts.count == 2, let top = Double(parts[0]), let bottom = Double(parts[1]), bottom != 0 { return top / bottom }
        }
        return nil
    }
}

/// `the final answer is:`, the phrase the subnet's reward reads the number after.
public enum FinalAnswer {
    public static let marker = "the final answer is:"

    public static func arrived(in completion: String) -> Bool {
        completion.range(of: marker, options: .caseInsensitive) != nil
    }
}
