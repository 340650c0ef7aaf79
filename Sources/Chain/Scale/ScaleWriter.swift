/// SCALE encoding (parity-scale-codec): little-endian fixed integers, compact integers, and
/// length-prefixed vectors. Appends to `bytes`.
public struct ScaleWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func append(_ raw: [UInt8]) { bytes += raw }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) { littleEndian(value) }
    public mutating func u32(_ value: UInt32) { littleEndian(value) }
    public mutating func u64(_ value: UInt64) { littleEndian(value) }
    public mutating func u128(_ value: UInt128) { littleEndian(value) }
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    private mutating func littleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    /// Compact: one byte below 2⁶, two below 2¹⁴, four below 2³⁰, then a length byte and the
    /// fewest little-endian bytes.
    public mutating func compact(_ value: UInt128) {
        switch value {
        case 0..<(1 << 6): u8(UInt8(value) << 2)
        case 0..<(1 << 14): u16(UInt16(value) << 2 | 0b01)
        case 0..<(1 << 30): u32(UInt32(value) << 2 | 0b10)
        default:
            let length = (UInt128.bitWidth - value.leadingZeroBitCount + 7) / 8
            u8(UInt8(length - 4) << 2 | 0b11)
            for index in 0..<length { u8(UInt8(truncatingIfNeeded: value >> (8 * index))) }
        }
    }

    public mutating func compact(_ value: Int) { compact(UInt128(value)) }

    /// `Vec<u8>`: compact length then the bytes.
    public mutating func bytesWithLength(_ raw: [UInt8]) {
        compact(raw.count)
        bytes += raw
    }

    public mutating func option<T>(_ value: T?, _ encode: (inout ScaleWriter, T) -> Void) {
        guard let value else { return u8(0) }
        u8(1)
        encode(&self, value)
    }

    public mutating func vector<T>(_ items: [T], _ encode: (inout ScaleWriter, T) -> Void) {
        compact(items.count)
        for item in items { encode(&self, item) }
    }
}
