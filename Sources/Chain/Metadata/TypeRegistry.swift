/// The portable type registry of runtime metadata (scale-info): every type the runtime's
/// calls, storage and runtime APIs use, by id.
public struct TypeRegistry: Sendable {
    public struct Field: Sendable {
        public var name: String?
        public var type: Int
    }

    public struct Variant: Sendable {
        public var name: String
        public var fields: [Field]
        public var index: UInt8
    }

    public enum Primitive: UInt8, Sendable {
        case bool, char, str, u8, u16, u32, u64, u128, u256, i8, i16, i32, i64, i128, i256

        /// Bytes on the wire; nil for `str`, which carries its own length.
        var width: Int? {
            switch self {
            case .bool, .u8, .i8: 1
            case .u16, .i16: 2
            case .char, .u32, .i32: 4
            case .u64, .i64: 8
            case .u128, .i128: 16
            case .u256, .i256: 32
            case .str: nil
            }
        }
    }

    public indirect enum Definition: Sendable {
        case composite([Field])
        case variant([Variant])
        case sequence(Int)
        case array(length: Int, element: Int)
        case tuple([Int])
        case primitive(Primitive)
        case compact(Int)
        case bitSequence(store: Int, order: Int)
    }

    public struct TypeInfo: Sendable {
        public var path: [String]
        public var definition: Definition
    }

    public private(set) var types: [Int: TypeInfo] = [:]

    public init(types: [Int: TypeInfo]) {
        self.types = types
        self.sizes = Self.computeSizes(types)
    }

    public func type(_ id: Int) throws(ScaleError) -> TypeInfo {
        guard let type = types[id] else { throw ScaleError("type #\(id) is not in the metadata's registry") }
        return type
    }

    /// Every type's fixed size, worked out once (see `fixedSize`).
    private var sizes: [Int: Int?] = [:]

    /// The number of bytes every value of the type takes, or nil when it varies (or the type
    /// refers to itself). Used to tell a zero-sized transaction extension (safe to ignore) from
    /// one that carries data, and to bound hostile lengths.
    public func fixedSize(_ id: Int) throws(ScaleError) -> Int? {
        guard let size = sizes[id] else { throw ScaleError("type #\(id) is not in the metadata's registry") }
        return size
    }

    private static func computeSizes(_ types: [Int: TypeInfo]) -> [Int: Int?] {
        var sizes: [Int: Int?] = [:]
        var visiting = Set<Int>()
        func size(_ id: Int) -> Int? {
            if let known = sizes[id] { return known }
            guard let type = types[id], visiting.insert(id).inserted else { return nil }
            defer { visiting.remove(id) }
            func sum(_ members: [Int]) -> Int? {
                var total = 0
                for member in members {
                    guard let part = size(member) else { return nil }
                    total = total.addingReportingOverflow(part).overflow ? Int.max : total + part
                }
                return total
            }
            let result: Int?
            switch type.definition {
            case .composite(let fields): result = sum(fields.map(\.type))
            case .tuple(let members): result = sum(members)
            case .array(let length, let element):
                result = size(element).flatMap { $0.multipliedReportingOverflow(by: length).overflow ? nil : $0 * length }
            case .primitive(let primitive): result = primitive.width
            case .variant(let variants): result = variants.isEmpty ? 0 : nil
            case .sequence, .compact, .bitSequence: result = nil
            }
            sizes[id] = .some(result)
            return result
        }
        for id in types.keys { _ = size(id) }
        return sizes
    }

    static func decode(_ reader: inout ScaleReader) throws(ScaleError) -> TypeRegistry {
        var types: [Int: TypeInfo] = [:]
        let count = try reader.count()
        for _ in 0..<count {
            let id = try reader.typeID()
            let path = try reader.vector { (r: inout ScaleReader) throws(ScaleError) in try r.string() }
            _ = try reader.vector { (r: inout ScaleReader) throws(ScaleError) -> Int? in
                _ = try r.string()
                return try r.option { (r: inout ScaleReader) throws(ScaleError) in try r.typeID() }
            }
            let definition = try decodeDefinition(&reader)
            try skipDocs(&reader)
            types[id] = TypeInfo(path: path, definition: definition)
        }
        return TypeRegistry(types: types)
    }

    private static func decodeDefinition(_ reader: inout ScaleReader) throws(ScaleError) -> Definition {
        let tag = try reader.u8()
        switch tag {
        case 0: return .composite(try decodeFields(&reader))
        case 1:
            return .variant(try reader.vector { (r: inout ScaleReader) throws(ScaleError) in
                let name = try r.string()
                let fields = try decodeFields(&r)
                let index = try r.u8()
                try skipDocs(&r)
                return Variant(name: name, fields: fields, index: index)
            })
        case 2: return .sequence(try reader.typeID())
        case 3:
            let length = Int(try reader.u32())
            return .array(length: length, element: try reader.typeID())
        case 4: return .tuple(try reader.vector { (r: inout ScaleReader) throws(ScaleError) in try r.typeID() })
        case 5:
            let raw = try reader.u8()
            guard let primitive = Primitive(rawValue: raw) else { throw ScaleError("unknown primitive type \(raw)") }
            return .primitive(primitive)
        case 6: return .compact(try reader.typeID())
        case 7:
            let store = try reader.typeID()
            return .bitSequence(store: store, order: try reader.typeID())
        default: throw ScaleError("unknown type definition tag \(tag) at offset \(reader.offset - 1)")
        }
    }

    static func decodeFields(_ reader: inout ScaleReader) throws(ScaleError) -> [Field] {
        try reader.vector { (r: inout ScaleReader) throws(ScaleError) in
            let name = try r.option { (r: inout ScaleReader) throws(ScaleError) in try r.string() }
            let type = try r.typeID()
            _ = try r.option { (r: inout ScaleReader) throws(ScaleError) in try r.string() }
            try skipDocs(&r)
            return Field(name: name, type: type)
        }
    }

    static func skipDocs(_ reader: inout ScaleReader) throws(ScaleError) {
        _ = try reader.vector { (r: inout ScaleReader) throws(ScaleError) in try r.skip(try r.count()) }
    }
}
