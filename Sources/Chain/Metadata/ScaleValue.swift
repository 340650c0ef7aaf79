/// A value decoded by its metadata type, for runtime-API results whose layout the runtime
/// owns (NeuronInfoLite, SubnetState, SelectiveMetagraph): fields are found by name, so a
/// field added by a runtime upgrade does not shift the others.
public indirect enum ScaleValue: Sendable, Equatable {
    case bool(Bool)
    case unsigned(UInt128)
    case signed(Int128)
    case text(String)
    /// `Vec<u8>` and `[u8; N]`, kept whole.
    case bytes([UInt8])
    case sequence([ScaleValue])
    case composite([String?], [ScaleValue])
    case variant(String, [String?], [ScaleValue])
    /// A bit sequence or a 256-bit number, kept as raw bytes.
    case raw([UInt8])

    /// A named field of a composite (or of a variant's fields).
    public subscript(_ name: String) -> ScaleValue? {
        switch self {
        case .composite(let names, let values), .variant(_, let names, let values):
            return names.firstIndex(of: name).map { values[$0] }
        default:
            return nil
        }
    }

    /// The value inside single-field wrappers (`NetUid(u16)`, `AccountId32([u8; 32])`).
    public var unwrapped: ScaleValue {
        if case .composite(_, let values) = self, values.count == 1 { return values[0].unwrapped }
        return self
    }

    public var unsigned: UInt128? {
        if case .unsigned(let value) = unwrapped { return value }
        return nil
    }

    public var int: Int? { unsigned.flatMap { Int(exactly: $0) } }

    public var boolValue: Bool? {
        if case .bool(let value) = unwrapped { return value }
        return nil
    }

    public var byteArray: [UInt8]? {
        if case .bytes(let value) = unwrapped { return value }
        return nil
    }

    public var items: [ScaleValue]? {
        switch unwrapped {
        case .sequence(let items): return items
        case .bytes(let bytes): return bytes.map { .unsigned(UInt128($0)) }
        default: return nil
        }
    }

    /// `Option<T>`: nil for `None`, the inner value for `Some`.
    public var optionValue: ScaleValue?? {
        guard case .variant(let name, _, let values) = self else { return nil }
        switch name {
        case "None": return .some(nil)
        case "Some": return values.first.map { .some($0) }
        default: return nil
        }
    }
}

/// Decodes bytes into `ScaleValue`s by registry type id.
public struct ScaleValueDecoder: Sendable {
    public let registry: TypeRegistry

    public init(registry: TypeRegistry) { self.registry = registry }

    public func decode(_ type: Int, from bytes: [UInt8]) throws(ScaleError) -> ScaleValue {
        var reader = ScaleReader(bytes)
        var budget = Budget(steps: 16 * bytes.count + 4096)
        let value = try decode(type, &reader, depth: 0, budget: &budget)
        guard reader.isAtEnd else { throw ScaleError("\(reader.remaining) bytes left after decoding type #\(type)") }
        return value
    }

    /// Values visited, bounded by the input's size: types that take no bytes (or refer to
    /// themselves) in a hostile registry cannot make the decoding run away.
    struct Budget {
        var steps: Int
    }

    func decode(_ type: Int, _ reader: inout ScaleReader, depth: Int, budget: inout Budget) throws(ScaleError) -> ScaleValue {
        guard depth < 128 else { throw ScaleError("values nest too deeply") }
        budget.steps -= 1
        guard budget.steps >= 0 else { throw ScaleError("the value has more parts than its \(reader.bytes.count) bytes can hold") }
        switch try registry.type(type).definition {
        case .composite(let fields):
            var values: [ScaleValue] = []
            values.reserveCapacity(fields.count)
            for field in fields { values.append(try decode(field.type, &reader, depth: depth + 1, budget: &budget)) }
            return .composite(fields.map(\.name), values)
        case .variant(let variants):
            let index = try reader.u8()
            guard let variant = variants.first(where: { $0.index == index }) else {
                throw ScaleError("variant index \(index) of type #\(type) at offset \(reader.offset - 1) is unknown")
            }
            var values: [ScaleValue] = []
            for field in variant.fields { values.append(try decode(field.type, &reader, depth: depth + 1, budget: &budget)) }
            return .variant(variant.name, variant.fields.map(\.name), values)
        case .sequence(let element):
            if try isByte(element) { return .bytes(try reader.bytesWithLength()) }
            let count = try reader.count(minimumElementSize: max(try registry.fixedSize(element) ?? 1, 1))
            var items: [ScaleValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try decode(element, &reader, depth: depth + 1, budget: &budget)) }
            return .sequence(items)
        case .array(let length, let element):
            if try isByte(element) { return .bytes(Array(try reader.take(length))) }
            guard length <= max(reader.remaining, 1 << 16) else { throw ScaleError("an array of \(length) elements at offset \(reader.offset) is longer than the input") }
            var items: [ScaleValue] = []
            for _ in 0..<length { items.append(try decode(element, &reader, depth: depth + 1, budget: &budget)) }
            return .sequence(items)
        case .tuple(let members):
            var values: [ScaleValue] = []
            for member in members { values.append(try decode(member, &reader, depth: depth + 1, budget: &budget)) }
            return .composite(Array(repeating: nil, count: members.count), values)
        case .primitive(let primitive):
            return try decodePrimitive(primitive, &reader)
        case .compact:
            return .unsigned(try reader.compact())
        case .bitSequence(let store, _):
            let start = reader.offset
            let value = try reader.compact()
            guard value <= UInt128(reader.remaining) * 8 else { throw ScaleError("\(value) bits at offset \(start) exceed the bytes left") }
            let bits = Int(value)
            let storeBytes = max(try registry.fixedSize(store) ?? 1, 1)
            let words = (bits + storeBytes * 8 - 1) / (storeBytes * 8)
            return .raw(Array(try reader.take(words * storeBytes)))
        }
    }

    private func isByte(_ type: Int) throws(ScaleError) -> Bool {
        if case .primitive(.u8) = try registry.type(type).definition { return true }
        return false
    }

    private func decodePrimitive(_ primitive: TypeRegistry.Primitive, _ reader: inout ScaleReader) throws(ScaleError) -> ScaleValue {
        switch primitive {
        case .bool: return .bool(try reader.bool())
        case .str: return .text(try reader.string())
        case .u8: return .unsigned(UInt128(try reader.u8()))
        case .u16: return .unsigned(UInt128(try reader.u16()))
        case .u32, .char: return .unsigned(UInt128(try reader.u32()))
        case .u64: return .unsigned(UInt128(try reader.u64()))
        case .u128: return .unsigned(try reader.u128())
        case .i8: return .signed(Int128(Int8(bitPattern: try reader.u8())))
        case .i16: return .signed(Int128(Int16(bitPattern: try reader.u16())))
        case .i32: return .signed(Int128(Int32(bitPattern: try reader.u32())))
        case .i64: return .signed(Int128(Int64(bitPattern: try reader.u64())))
        case .i128: return .signed(Int128(bitPattern: try reader.u128()))
        case .u256, .i256: return .raw(Array(try reader.take(32)))
        }
    }
}
