import ArgumentParser

/// `30m`, `1h`, `24h`, `7d` as seconds, for the `--since` options.
func secondsOf(since text: String) throws -> Double {
    guard let unit = text.last, let amount = Double(text.dropLast()), amount > 0,
          let scale = ["s": 1.0, "m": 60, "h": 3600, "d": 86400][String(unit)] else {
        throw ValidationError("--since takes a number and a unit, e.g. 30m, 1h, 24h, 7d; got '\(text)'")
    }
    return amount * scale
}
