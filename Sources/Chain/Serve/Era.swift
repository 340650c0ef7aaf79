/// A transaction's mortality (CheckMortality): valid for `period` blocks from its birth block.
public struct Era: Sendable, Equatable {
    public var encoded: [UInt8]
    /// The block whose hash the signature commits to; nil for an immortal era (genesis).
    public var birth: Int?

    public static let immortal = Era(encoded: [0], birth: nil)

    /// substrate's `Era::mortal(period, current)`: the period rounded to a power of two in
    /// [4, 65536], the phase quantized, as bittensor's client encodes it.
    public static func mortal(period requested: Int, current: Int) -> Era {
        var period = 4
        while period < requested, period < 65536 { period <<= 1 }
        let phase = current % period
        let quantizeFactor = max(period >> 12, 1)
        let quantizedPhase = phase / quantizeFactor * quantizeFactor
        let low = min(15, max(1, period.trailingZeroBitCount - 1))
        let value = UInt16(low) | UInt16(quantizedPhase / quantizeFactor) << 4
        let birth = (max(current, quantizedPhase) - quantizedPhase) / period * period + quantizedPhase
        return Era(encoded: [UInt8(value & 0xFF), UInt8(value >> 8)], birth: birth)
    }
}
