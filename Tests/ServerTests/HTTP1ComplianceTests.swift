import NIOCore
import NIOEmbedded
import Testing
@testable import Server

/// HTTP/1.0 gets an answer it can read, `Expect: 100-continue` gets its `100 Continue`: the
/// pipeline of a worker's connection on an embedded channel, bytes in, bytes out.
@Suite struct HTTP1ComplianceTests {
    func connection() throws -> (GuardedConnection, RefusalRecorder) {
        let refusals = RefusalRecorder()
        let connection = try GuardedConnection(table: ConnectionTable(maxConnections: 8, maxPerSource: 8), refusals: refusals)
        return (connection, refusals)
    }

    @Test func http11GetsTheChunkedAnswerAndStaysOpen() throws {
        let (connection, _) = try connection()
        try connection.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        let answer = try connection.received()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.lowercased().contains("transfer-encoding: chunked"))
        #expect(answer.hasSuffix("5\r\nhello\r\n0\r\n\r\n"))
        #expect(connection.isOpen)
    }

    @Test func http10GetsAnHTTP10AnswerEndedByClosing() throws {
        let (connection, _) = try connection()
        try connection.send("POST /x HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
        let answer = try connection.received()
        #expect(answer.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(!answer.lowercased().contains("transfer-encoding"))
        #expect(answer.lowercased().contains("connection: close"))
        #expect(answer.hasSuffix("\r\n\r\nhello"))
        #expect(!connection.isOpen)
        // The responder was told too, so hummingbird stops reading after this request.
        #expect(connection.responder.requests.first?.headerFields[.connection] == "close")
    }

    @Test func http10KeepAliveIsClosedAllTheSame() throws {
        let (connection, _) = try connection()
        try connection.send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let answer = try connection.received()
        #expect(answer.hasPrefix("HTTP/1.0 200 OK\r\n") && answer.hasSuffix("hello"))
        #expect(!connection.isOpen)
    }

    @Test func expectContinueGetsA100BeforeTheBodyIsSent() throws {
        let (connection, _) = try connection()
        try connection.send("POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n")
        #expect(try connection.received() == "HTTP/1.1 100 Continue\r\n\r\n")
        try connection.send("{}")
        let answer = try connection.received()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(connection.responder.bodies == ["{}"])
        // The next request without the header gets no 100.
        try connection.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        #expect(try connection.received().hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    @Test func aPipelinedExpectWaitsForThePreviousAnswer() throws {
        let (connection, _) = try connection()
        connection.responder.answersAtOnce = false
        try connection.send(
            "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
                + "POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        )
        // A 100 now would land in the middle of the first answer.
        #expect(try connection.received() == "")
        connection.responder.answer("first")
        let answer = try connection.received()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.hasSuffix("0\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"))
    }

    @Test func noContinueForHTTP10OrAnotherExpectation() throws {
        let (connection, _) = try connection()
        try connection.send("POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        #expect(try connection.received() == "")  // HTTP/1.0 knows no 1xx
        #expect(HTTP1Compliance.isContinue(" 100-CONTINUE "))
        #expect(!HTTP1Compliance.isContinue("100-continue, fancy"))  // the responder's 417
    }
}
