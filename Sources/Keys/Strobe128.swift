/// STROBE-128/1600, the subset Merlin transcripts use (meta-AD, AD, PRF), as in the merlin
/// crate's `strobe.rs`.
struct Strobe128 {
    private static let rate = 166
    private static let flagI: UInt8 = 1, flagA: UInt8 = 2, flagC: UInt8 = 4, flagT: UInt8 = 8, flagM: UInt8 = 16, flagK: UInt8 = 32

    private var state = [UInt8](repeating: 0, count: 200)
    private var position = 0
    private var positionBegin = 0
    private var currentFlags: UInt8 = 0

    init(protocolLabel: [UInt8]) {
        state[0...5] = [1, UInt8(Self.rate + 2), 1, 0, 1, 96]
        state.replaceSubrange(6..<18, with: Array("STROBEv1.0.2".utf8))
        Keccak.permute(&state)
        metaAD(protocolLabel, more: false)
    }

    mutating func metaAD(_ data: [UInt8], more: Bool) {
        beginOperation(Self.flagM | Self.flagA, more: more)
        absorb(data)
    }

    mutating func ad(_ data: [UInt8], more: Bool) {
        beginOperation(Self.flagA, more: more)
        absorb(data)
    }

    mutating func prf(count: Int, more: Bool) -> [UInt8] {
        beginOperation(Self.flagI | Self.flagA | Self.flagC, more: more)
        return squeeze(count)
    }

    private mutating func runF() {
        state[position] ^= UInt8(positionBegin)
        state[position + 1] ^= 0x04
        state[Self.rate + 1] ^= 0x80
        Keccak.permute(&state)
        position = 0
        positionBegin = 0
    }

    private mutating func absorb(_ data: [UInt8]) {
        for byte in data {
            state[position] ^= byte
            position += 1
            if position == Self.rate { runF() }
        }
    }

    private mutating func squeeze(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            out[index] = state[position]
            state[position] = 0
            position += 1
            if position == Self.rate { runF() }
        }
        return out
    }

    private mutating func beginOperation(_ flags: UInt8, more: Bool) {
        if more {
            precondition(currentFlags == flags, "STROBE: continuing an operation with other flags")
            return
        }
        precondition(flags & Self.flagT == 0, "STROBE: transport operations are not used")
        let oldBegin = positionBegin
        positionBegin = position + 1
        currentFlags = flags
        absorb([UInt8(oldBegin), flags])
        let forceF = flags & (Self.flagC | Self.flagK) != 0
        if forceF && position != 0 { runF() }
    }
}

/// A Merlin transcript (merlin 3.x): labelled messages in, challenge bytes out.
struct MerlinTranscript {
    private var strobe: Strobe128

    init(label: String) {
        strobe = Strobe128(protocolLabel: Array("Merlin v1.0".utf8))
        append(label: "dom-sep", message: Array(label.utf8))
    }

    mutating func append(label: String, message: [UInt8]) {
        strobe.metaAD(Array(label.utf8), more: false)
        strobe.metaAD(Self.lengthBytes(message.count), more: true)
        strobe.ad(message, more: false)
    }

    mutating func challengeBytes(label: String, count: Int) -> [UInt8] {
        strobe.metaAD(Array(label.utf8), more: false)
        strobe.metaAD(Self.lengthBytes(count), more: true)
        return strobe.prf(count: count, more: false)
    }

    private static func lengthBytes(_ count: Int) -> [UInt8] {
        let value = UInt32(count)
        return [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }
}
