import Foundation

// Usage: migrations-embedder OUTPUT.swift FILE.sql...
// Writes `embeddedMigrations`, an array of (file name, SQL text) in the order given.
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: migrations-embedder OUTPUT.swift FILE.sql...\n".utf8))
    exit(2)
}
var swift = "// Generated from migrations/*.sql by the EmbedMigrations plugin. Do not edit.\n"
swift += "let embeddedMigrations: [(file: String, sql: String)] = [\n"
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let sql = try String(contentsOf: url, encoding: .utf8)
    // A raw string with a delimiter no SQL file contains keeps the text byte for byte.
    var hashes = "#"
    while sql.contains("\"" + hashes) { hashes += "#" }
    swift += "    (file: \"\(url.lastPathComponent)\", sql: \(hashes)\"\"\"\n\(sql)\n\"\"\"\(hashes)),\n"
}
swift += "]\n"
try swift.write(toFile: output, atomically: true, encoding: .utf8)
