import Foundation
import NIOCore
import Testing
@testable import Config
@testable import Supervisor

/// The pure parts of services (issue #17): env files, `/proc` stat lines and trees, health
/// answers, and cycles of `depends_on`.
@Suite struct ServiceUnitTests {
    // MARK: - EnvironmentFile.parse

    @Test func envFileLines() throws {
        let text = """
            # a comment
              # an indented comment

            A=1
            export B=two words
            export   C = spaced\u{20}\u{20}
            D="double quoted"
            E='single quoted'
            F="it's"
            G=a"b"c
            H="unterminated
            I=x=y==z
            J=
            K=""
            _under_9=ok
            L="  kept  "
            """
        let variables = try EnvironmentFile.parse(text, path: "p.env")
        #expect(variables == [
            "A": "1", "B": "two words", "C": "spaced", "D": "double quoted", "E": "single quoted", "F": "it's",
            "G": "a\"b\"c", "H": "\"unterminated", "I": "x=y==z", "J": "", "K": "", "_under_9": "ok", "L": "  kept  ",
        ])
        #expect(try EnvironmentFile.parse("", path: "p.env") == [:])
        #expect(try EnvironmentFile.parse("A=1\nA=2\n", path: "p.env") == ["A": "2"])
        // Nothing is expanded.
        #expect(try EnvironmentFile.parse("A=$HOME ${B} `x`\n", path: "p.env") == ["A": "$HOME ${B} `x`"])
    }

    @Test func envFileWithCRLF() throws {
        // A lone "\r" at the end of the last line is dropped.
        #expect(try EnvironmentFile.parse("A=1\r", path: "p.env") == ["A": "1"])
        // Swift takes "\r\n" for one Character: a CRLF file must still split into lines.
        let variables = try EnvironmentFile.parse("# c\r\nA=1\r\nexport B=\"two\"\r\n\r\nC=3\r\n", path: "p.env")
        #expect(variables == ["A": "1", "B": "two", "C": "3"])
        // The line numbers count CRLF lines too.
        #expect(throws: EnvironmentFile.Problem(path: "p.env", line: 3, message: "expected KEY=VALUE")) {
            try EnvironmentFile.parse("A=1\r\nB=2\r\nbad\r\n", path: "p.env")
        }
    }

    /// A bad line may hold a secret: the error names its number, not its text. A FIFO is refused
    /// at once, not read (it would block).
    @Test func envFileErrorsNeverQuoteTheFileAndNeverBlock() throws {
        do {
            _ = try EnvironmentFile.parse("A=1\nOPENAI_API_KEY: sk-proj-SECRET123=xyz\n", path: "k.env")
            Issue.record("a bad line was accepted")
        } catch {
            #expect(error.line == 2)
            #expect(!error.description.contains("SECRET"))
        }
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(UUID().uuidString).env").path
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        #expect(throws: EnvironmentFile.Problem(path: fifo, message: "is not a regular file")) { try EnvironmentFile.read(fifo) }
    }

    @Test func envFileErrorsNameTheirLine() {
        #expect(throws: EnvironmentFile.Problem(path: "p.env", line: 3, message: "expected KEY=VALUE")) {
            try EnvironmentFile.parse("A=1\n\nno equals sign\n", path: "p.env")
        }
        #expect(throws: EnvironmentFile.Problem(path: "p.env", line: 2, message: "expected KEY=VALUE with a variable name (letters, digits, _; not first a digit) before the =")) {
            try EnvironmentFile.parse("# x\n1A=1\n", path: "p.env")
        }
        #expect(throws: EnvironmentFile.Problem(path: "p.env", line: 4, message: "expected KEY=VALUE with a variable name (letters, digits, _; not first a digit) before the =")) {
            try EnvironmentFile.parse("A=1\nB=2\n#\nA-B=3\n", path: "p.env")
        }
        #expect(throws: EnvironmentFile.Problem(path: "p.env", line: 1, message: "expected KEY=VALUE with a variable name (letters, digits, _; not first a digit) before the =")) {
            try EnvironmentFile.parse("=value\n", path: "p.env")
        }
        #expect(throws: EnvironmentFile.Problem(path: "p.env", line: 1, message: "a value holds a NUL byte")) {
            try EnvironmentFile.parse("A=x\u{0}y\n", path: "p.env")
        }
        let problem = EnvironmentFile.Problem(path: "/k/p.env", line: 7, message: "expected KEY=VALUE")
        #expect(problem.description == "/k/p.env:7: expected KEY=VALUE")
        #expect(EnvironmentFile.Problem(path: "/k/p.env", line: nil, message: "is not a regular file").description == "/k/p.env: is not a regular file")
    }

    @Test func variableNames() {
        for name in ["A", "_", "a_1", "HF_HOME", String(repeating: "x", count: 255)] {
            #expect(EnvironmentFile.isName(name), "\(name)")
        }
        for name in ["", "1A", "A-B", "A B", "é", "A.B", String(repeating: "x", count: 256)] {
            #expect(!EnvironmentFile.isName(name), "\(name)")
        }
    }

    // MARK: - ProcessTree

    /// A `/proc/PID/stat` line of 52 fields: field 4 the parent, field 24 the resident pages;
    /// every other field a distinct number, so a field read off by one is seen.
    func statLine(pid: Int32, command: String, parent: Int32, pages: Int) -> String {
        var fields = ["\(pid)", "(\(command))", "S", "\(parent)"]
        for field in 5...52 { fields.append(field == 24 ? "\(pages)" : "\(1000 + field)") }
        #expect(fields.count == 52)
        return fields.joined(separator: " ") + "\n"
    }

    @Test func statFields() {
        let plain = statLine(pid: 1234, command: "vllm", parent: 77, pages: 4242)
        #expect(ProcessTree.fields(plain)?.parent == 77)
        #expect(ProcessTree.fields(plain)?.residentPages == 4242)
        // A command name with spaces and parentheses: the fields count from its last ')'.
        let odd = statLine(pid: 1234, command: "a b) c", parent: 77, pages: 4242)
        #expect(odd.hasPrefix("1234 (a b) c) S 77 1005 "))
        #expect(ProcessTree.fields(odd)?.parent == 77)
        #expect(ProcessTree.fields(odd)?.residentPages == 4242)
        let parens = statLine(pid: 9, command: ") 1 2 3 (", parent: 5, pages: 0)
        #expect(ProcessTree.fields(parens)?.parent == 5 && ProcessTree.fields(parens)?.residentPages == 0)
        // A real line, as Linux writes it.
        let real = "1 (systemd) S 0 1 1 0 -1 4194560 50369 2404946 111 1199 93 140 4063 2136 20 0 1 0 27 22884352 2868 18446744073709551615 1 1 0 0 0 0 671173123 4096 1260 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        #expect(ProcessTree.fields(real)?.parent == 0 && ProcessTree.fields(real)?.residentPages == 2868)
    }

    @Test func statLinesThatAreNotRead() {
        #expect(ProcessTree.fields("") == nil)
        #expect(ProcessTree.fields("1234 vllm S 77 1 2 3") == nil)
        // Too few fields after the name: field 24 is missing.
        let short = (["1", "(x)", "S", "7"] + (5...23).map(String.init)).joined(separator: " ")
        #expect(ProcessTree.fields(short) == nil)
        #expect(ProcessTree.fields(short + " 5") != nil)
        #expect(ProcessTree.fields(statLine(pid: 1, command: "x", parent: 7, pages: -3)) == nil)
        #expect(ProcessTree.fields(statLine(pid: 1, command: "x", parent: 7, pages: 1).replacingOccurrences(of: " S 7 ", with: " S seven ")) == nil)
    }

    @Test func residentBytesOfThisProcess() throws {
        let bytes = try #require(ProcessTree.residentBytes(root: getpid()))
        #expect(bytes > 1 << 20)
        // Its proportional set size (smaps_rollup), in whole kB.
        let pss = try #require(ProcessTree.proportionalBytes(getpid()))
        #expect(pss % 1024 == 0 && pss > 1 << 20)
        #expect(ProcessTree.residentBytes(root: Int32.max - 1) == nil)
        #expect(ProcessTree.residentBytes(root: getpid(), proc: "/nonexistent-proc") == nil)
    }

    @Test func residentBytesSumsTheTree() throws {
        let proc = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: proc) }
        // 10 → 11, 12; 12 → 13 → 14; 20 unrelated (child of 1); 15 has an unreadable stat;
        // 16 is 12's child with a stat line that does not parse; `self` is not a pid.
        let tree: [(Int32, Int32, Int)] = [(10, 1, 100), (11, 10, 20), (12, 10, 3), (13, 12, 4000), (14, 13, 50_000), (20, 1, 7_000_000)]
        for (pid, parent, pages) in tree {
            try FileManager.default.createDirectory(atPath: "\(proc)/\(pid)", withIntermediateDirectories: true)
            try statLine(pid: pid, command: "p \(pid)", parent: parent, pages: pages).write(toFile: "\(proc)/\(pid)/stat", atomically: false, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: "\(proc)/15", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(proc)/16", withIntermediateDirectories: true)
        try "16 (broken S 12".write(toFile: "\(proc)/16/stat", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "\(proc)/self", withIntermediateDirectories: true)
        let page = ProcessTree.pageSize
        #expect(ProcessTree.residentBytes(root: 10, proc: proc) == (100 + 20 + 3 + 4000 + 50_000) * page)
        #expect(ProcessTree.residentBytes(root: 12, proc: proc) == (3 + 4000 + 50_000) * page)
        #expect(ProcessTree.residentBytes(root: 14, proc: proc) == 50_000 * page)
        #expect(ProcessTree.residentBytes(root: 20, proc: proc) == 7_000_000 * page)
        #expect(ProcessTree.residentBytes(root: 1, proc: proc) == nil)
        #expect(ProcessTree.residentBytes(root: 15, proc: proc) == nil)
        #expect(ProcessTree.residentBytes(root: 99, proc: proc) == nil)
        // Where smaps_rollup is readable its proportional size counts instead of the resident pages.
        try "Rss:                 16000 kB\nPss:                  8 kB\nShared_Clean: 1 kB\n".write(toFile: "\(proc)/13/smaps_rollup", atomically: false, encoding: .utf8)
        #expect(ProcessTree.residentBytes(root: 12, proc: proc) == (3 + 50_000) * page + 8 * 1024)
    }

    // MARK: - HealthProbe

    @Test func modelIDs() {
        let list = #"{"object": "list", "data": [{"id": "Qwen/Qwen3-8B", "object": "model"}, {"id": "smollm2"}, {"object": "model"}, {"id": 7}]}"#
        #expect(HealthProbe.modelIDs(ByteBuffer(string: list)) == ["Qwen/Qwen3-8B", "smollm2"])
        #expect(HealthProbe.modelIDs(ByteBuffer(string: #"{"data": []}"#)) == [])
        #expect(HealthProbe.modelIDs(ByteBuffer(string: #"{"data": {"id": "x"}}"#)) == [])
        #expect(HealthProbe.modelIDs(ByteBuffer(string: #"[{"id": "x"}]"#)) == [])
        #expect(HealthProbe.modelIDs(ByteBuffer(string: "not json")) == [])
        #expect(HealthProbe.modelIDs(ByteBuffer()) == [])
    }

    @Test func summaries() {
        #expect(HealthProbe.summary(200, ByteBuffer()) == "200")
        #expect(HealthProbe.summary(503, ByteBuffer(string: "Loading model\n")) == "503 Loading model")
        #expect(HealthProbe.summary(503, ByteBuffer(string: "  \n\t ")) == "503")
        #expect(HealthProbe.summary(500, ByteBuffer(string: "a\r\nb\tc\u{1}d")) == "500 a b c d")
        #expect(HealthProbe.summary(500, ByteBuffer(string: "line one\nline two")) == "500 line one line two")
        // The body is cut at 200 bytes.
        let long = String(repeating: "x", count: 500)
        #expect(HealthProbe.summary(502, ByteBuffer(string: long)) == "502 " + String(repeating: "x", count: 200))
        #expect(HealthProbe.summary(404, ByteBuffer(string: #"{"error": "not found"}"#)) == #"404 {"error": "not found"}"#)
    }

    /// A hostile server's text reaches the log, `status` and a worker's pipe as one bounded line
    /// of printable text: no line of its own, no terminal escape, no cut character.
    @Test func answersArePrintableBoundedLines() {
        let forged = "x\n2026-11-26T07:00:00+0000 critical miners.supervisor: FAKE\u{1B}[2J\u{1B}]0;pwned\u{07}\u{7F}\u{85}\u{2028}end"
        let line = HealthProbe.printable(forged, maxBytes: 300)
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 })
        #expect(line == "x 2026-11-26T07:00:00+0000 critical miners.supervisor: FAKE [2J ]0;pwned end")
        // One grapheme of 300 001 scalars is cut like any text, by bytes, at a scalar's boundary.
        let huge = "a" + String(repeating: "\u{301}", count: 300_000)
        let cut = HealthProbe.printable(huge, maxBytes: 300)
        #expect(cut.utf8.count <= 300 && cut.utf8.count >= 299)
        #expect(HealthProbe.printable("ééé", maxBytes: 5) == "éé")
        #expect(HealthProbe.printable("  a  \t b  ", maxBytes: 100) == "a b")
    }

    // MARK: - ConfigReader.cycle(in:)

    func graph(_ edges: KeyValuePairs<String, [String]>) -> [ServiceConfig] {
        edges.enumerated().map { index, edge in
            var service = ServiceConfig(name: edge.key, command: ["sh"], port: 8000 + index)
            service.dependsOn = edge.value
            return service
        }
    }

    @Test func cycles() {
        #expect(ConfigReader.cycle(in: []) == nil)
        #expect(ConfigReader.cycle(in: graph(["a": []])) == nil)
        #expect(ConfigReader.cycle(in: graph(["a": ["b"], "b": ["c"], "c": []])) == nil)
        // A diamond is not a cycle.
        #expect(ConfigReader.cycle(in: graph(["a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []])) == nil)
        // A dependency that is not a service (reported elsewhere) ends the walk.
        #expect(ConfigReader.cycle(in: graph(["a": ["z"]])) == nil)
        #expect(ConfigReader.cycle(in: graph(["a": ["a"]])) == ["a", "a"])
        #expect(ConfigReader.cycle(in: graph(["a": ["b"], "b": ["a"]])) == ["a", "b", "a"])
        #expect(ConfigReader.cycle(in: graph(["a": ["b"], "b": ["c"], "c": ["a"]])) == ["a", "b", "c", "a"])
        // The cycle alone, without the path that led to it.
        #expect(ConfigReader.cycle(in: graph(["a": ["b"], "b": ["c"], "c": ["b"]])) == ["b", "c", "b"])
        #expect(ConfigReader.cycle(in: graph(["x": [], "a": ["x", "b"], "b": ["x", "a"]])) == ["a", "b", "a"])
        // Found from a service listed after an acyclic one that reaches it.
        #expect(ConfigReader.cycle(in: graph(["top": ["d"], "d": [], "p": ["q"], "q": ["p"]])) == ["p", "q", "p"])
    }
}
