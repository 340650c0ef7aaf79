import CZlib
import Foundation

/// gzip files with zlib, streamed in fixed chunks: memory stays bounded whatever the file's size.
public enum Gzip {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static let chunk = 64 << 10

    /// Compresses the file at `source` into a new file at `destination` (gzip format, as
    /// `gzip -t` accepts). The destination is written whole or removed.
    public static func compress(_ source: String, to destination: String) throws(Failure) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Failure(description: "cannot open \(source): \(errorText())") }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw Failure(description: "cannot create \(destination): \(errorText())") }
        var done = false
        defer {
            close(output)
            if !done { unlink(destination) }
        }
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
        guard deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "deflateInit2 failed")
        }
        defer { deflateEnd(&stream) }
        var inBuffer = [UInt8](repeating: 0, count: chunk)
        var outBuffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let count = inBuffer.withUnsafeMutableBytes { read(input, $0.baseAddress, chunk) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "cannot read \(source): \(errorText())")
            }
            let flush = count == 0 ? Z_FINISH : Z_NO_FLUSH
            var status = Z_OK
            var writeFailure: String?
            inBuffer.withUnsafeMutableBufferPointer { inPointer in
                stream.next_in = inPointer.baseAddress
                stream.avail_in = uInt(count)
                repeat {
                    outBuffer.withUnsafeMutableBufferPointer { outPointer in
                        stream.next_out = outPointer.baseAddress
                        stream.avail_out = uInt(chunk)
                        status = deflate(&stream, flush)
                        let produced = chunk - Int(stream.avail_out)
                        if produced > 0, writeFailure == nil {
                            writeFailure = FDWrite.all(output, UnsafeBufferPointer(rebasing: outPointer[0..<produced]))
                        }
                    }
                } while stream.avail_out == 0 && writeFailure == nil && status != Z_STREAM_ERROR
                stream.next_in = nil
            }
            if let writeFailure { throw Failure(description: "cannot write \(destination): \(writeFailure)") }
            guard status != Z_STREAM_ERROR else { throw Failure(description: "deflate failed") }
            if count == 0 {
                guard status == Z_STREAM_END else { throw Failure(description: "deflate did not finish") }
                break
            }
        }
        guard fsync(output) == 0 || errno == EINVAL else { throw Failure(description: "cannot sync \(destination): \(errorText())") }
        done = true
    }

    /// Reads a gzip file (or a plain one, which zlib passes through when it has no gzip
    /// header) chunk by chunk, handing each piece of decompressed bytes to `body`.
    public static func decompress(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Failure(description: "cannot open \(path): \(errorText())") }
        defer { close(input) }
        var stream = z_stream()
        // 15 + 32: gzip or zlib, detected from the header.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        var inBuffer = [UInt8](repeating: 0, count: chunk)
        var outBuffer = [UInt8](repeating: 0, count: chunk)
        var finished = false
        while true {
            let count = inBuffer.withUnsafeMutableBytes { read(input, $0.baseAddress, chunk) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "cannot read \(path): \(errorText())")
            }
            if count == 0 { break }
            try inBuffer.withUnsafeMutableBufferPointer { inPointer in
                stream.next_in = inPointer.baseAddress
                stream.avail_in = uInt(count)
                defer { stream.next_in = nil }
                var filled = false
                while stream.avail_in > 0 || (filled && !finished) {
                    if finished {
                        // Another gzip member follows (as `cat a.gz b.gz` makes).
                        guard inflateReset(&stream) == Z_OK else { throw Failure(description: "inflateReset failed") }
                        finished = false
                    }
                    try outBuffer.withUnsafeMutableBufferPointer { outPointer in
                        stream.next_out = outPointer.baseAddress
                        stream.avail_out = uInt(chunk)
                        let status = inflate(&stream, Z_NO_FLUSH)
                        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                            throw Failure(description: "\(path): not valid gzip data (\(status))")
                        }
                        let produced = chunk - Int(stream.avail_out)
                        if produced > 0 { try body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: outPointer[0..<produced]))) }
                        filled = stream.avail_out == 0
                        if status == Z_STREAM_END { finished = true }
                        if status == Z_BUF_ERROR && produced == 0 {
                            stream.avail_in = 0
                            filled = false
                        }
                    }
                }
            }
        }
        guard finished else { throw Failure(description: "\(path): the gzip data is truncated") }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
