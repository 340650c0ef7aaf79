/// CPython's `random.Random` (MT19937, `_randommodule.c`) for the calls the basic_math
/// generators make, so problem `i` is the one Python draws after `random.seed(35*100003 + i)`
/// — the examples of VALIDATOR-QUESTIONS.md §2.A come out exactly.
struct PythonRandom {
    private var state = [UInt32](repeating: 0, count: 624)
    private var position = 624

    /// `random.seed(n)` for a non-negative integer: its 32-bit words, least significant first,
    /// through `init_by_array`.
    init(seed: UInt64) {
        let key: [UInt32] = seed >> 32 == 0 ? [UInt32(seed)] : [UInt32(truncatingIfNeeded: seed), UInt32(seed >> 32)]
        state[0] = 19_650_218
        for i in 1..<624 { state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i) }
        var i = 1, j = 0
        for _ in 0..<max(624, key.count) {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1
            j += 1
            if i >= 624 { state[0] = state[623]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<623 {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= 624 { state[0] = state[623]; i = 1 }
        }
        state[0] = 0x8000_0000
    }

    /// `genrand_uint32`.
    mutating func next() -> UInt32 {
        if position >= 624 {
            for k in 0..<624 {
                let y = (state[k] & 0x8000_0000) | (state[(k + 1) % 624] & 0x7FFF_FFFF)
                state[k] = state[(k + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
            }
            position = 0
        }
        var y = state[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// `_randbelow_with_getrandbits(n)` for 1 ≤ n < 2^32: `getrandbits(n.bit_length())` until
    /// below n — the retries consume draws, which the following calls depend on.
    mutating func below(_ n: Int) -> Int {
        precondition(n >= 1 && n < 1 << 32, "below(\(n)): out of the generators' range")
        let bits = Int.bitWidth - n.leadingZeroBitCount
        while true {
            let value = Int(next() >> UInt32(32 - bits))
            if value < n { return value }
        }
    }

    /// `randint(a, b)`, both ends included.
    mutating func randint(_ a: Int, _ b: Int) -> Int {
        a + below(b - a + 1)
    }

    /// `choice(items)`.
    mutating func choice<T>(_ items: [T]) -> T {
        items[below(items.count)]
    }
}
