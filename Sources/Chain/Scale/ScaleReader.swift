/// SCALE decoding over a byte buffer; every read checks bounds and throws a `ScaleError` that
/// says where the input ran out or went wrong.
public struct ScaleReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func take(_ count: Int) throws(ScaleError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw ScaleError("needs \(count) bytes at offset \(offset), only \(remaining) left")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func skip(_ count: Int) throws(ScaleError) { _ = try take(count) }

    public mutating func u8() throws(ScaleError) -> UInt8 { try take(1).first! }
    public mutating func u16() throws(ScaleError) -> UInt16 { try littleEndian() }
    public mutating func u32() throws(ScaleError) -> UInt32 { try littleEndian() }
    public mutating func u64() throws(ScaleError) -> UInt64 { try littleEndian() }
    public mutating func u128() throws(ScaleError) -> UInt128 { try littleEndian() }

    public mutating func bool() throws(ScaleError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        case let other: throw ScaleError("invalid bool byte \(other) at offset \(offset - 1)")
        }
    }

    private mutating func littleEndian<T: FixedWidthInteger>() throws(ScaleError) -> T {
        var value: T = 0
        for (index, byte) in try take(T.bitWidth / 8).enumerated() { value |= T(byte) << (8 * index) }
        return value
    }

    public mutating func compact() throws(ScaleError) -> UInt128 {
        let first = try u8()
        switch first & 0b11 {
        case 0b00: return UInt128(first >> 2)
        case 0b01: return UInt128((UInt16(try u8()) << 8 | UInt16(first)) >> 2)
        case 0b10:
            let rest = try take(3)
            var value = UInt32(first)
            for (index, byte) in rest.enumerated() { value |= UInt32(byte) << (8 * (index + 1)) }
            return UInt128(value >> 2)
        default:
            let length = Int(first >> 2) + 4
            guard length <= 16 else { throw ScaleError("compact integer of \(length) bytes at offset \(offset - 1) is wider than u128") }
            var value: UInt128 = 0
            for (index, byte) in try take(length).enumerated() { value |= UInt128(byte) << (8 * index) }
            return value
        }
    }

    /// A compact type id of the metadata registry (a u32 there); larger values are refused
    /// rather than trapping on conversion.
    public mutating func typeID() throws(ScaleError) -> Int {
        let start = offset
        let value = try compact()
        guard value <= UInt128(UInt32.max) else { throw ScaleError("type id \(value) at offset \(start) is not a u32") }
        return Int(value)
    }

    /// A compact length or count, refused when it could not fit in the rest of the input (each
    /// element takes at least `minimumElementSize` bytes), so a hostile length allocates nothing.
    public mutating func count(minimumElementSize: Int = 1) throws(ScaleError) -> Int {
        let start = offset
        let value = try compact()
        guard value <= UInt128(remaining / max(minimumElementSize, 1)) else {
            throw ScaleError("length \(value) at offset \(start) exceeds the \(remaining) bytes left")
        }
        return Int(value)
    }

    public mutating func bytesWithLength() throws(ScaleError) -> [UInt8] { Array(try take(try count())) }

    public mutating func string() throws(ScaleError) -> String {
        let start = offset
        let raw = try bytesWithLength()
        guard let text = String(validating: raw, as: UTF8.self) else { throw ScaleError("invalid UTF-8 string at offset \(start)") }
        return text
    }

    public mutating func option<T>(_ decode: (inout ScaleReader) throws(ScaleError) -> T) throws(ScaleError) -> T? {
        switch try u8() {
        case 0: return nil
        case 1: return try decode(&self)
        case let other: throw ScaleError("invalid Option tag \(other) at offset \(offset - 1)")
        }
    }

    public mutating func vector<T>(_ decode: (inout ScaleReader) throws(ScaleError) -> T) throws(ScaleError) -> [T] {
        let count = try count()
        var items: [T] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try decode(&self)) }
        return items
    }
}

public struct ScaleError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
