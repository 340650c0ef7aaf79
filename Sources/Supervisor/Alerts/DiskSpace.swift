import Foundation

/// Free space on the file system holding a directory (statvfs): what an unprivileged process
/// may still write, as `df` shows it.
public struct DiskSpace: Sendable, Equatable {
    public var path: String
    /// The file system's device: two directories on one file system are one alert.
    public var device: UInt64
    public var freeBytes: Double
    public var totalBytes: Double

    public init(path: String, device: UInt64, freeBytes: Double, totalBytes: Double) {
        self.path = path
        self.device = device
        self.freeBytes = freeBytes
        self.totalBytes = totalBytes
    }

    public var freePercent: Double { totalBytes > 0 ? 100 * freeBytes / totalBytes : 100 }

    /// The directory's file system, or its nearest existing parent's (a log directory not made yet).
    public static func of(_ directory: String) -> DiskSpace? {
        var path = directory.isEmpty ? "." : directory
        for _ in 0..<64 {
            var info = statvfs()
            var file = stat()
            if statvfs(path, &info) == 0, stat(path, &file) == 0 {
                let block = Double(info.f_frsize == 0 ? info.f_bsize : info.f_frsize)
                return DiskSpace(path: directory, device: UInt64(file.st_dev), freeBytes: Double(info.f_bavail) * block, totalBytes: Double(info.f_blocks) * block)
            }
            let parent = (path as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != path else { return nil }
            path = parent
        }
        return nil
    }

    /// `1.2 GiB`
    static func size(_ bytes: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = bytes
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f ", value) + units[unit]
    }
}
