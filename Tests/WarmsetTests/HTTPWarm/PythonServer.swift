import Foundation
import Testing

/// A python3 test server started with `arguments`, which prints its port on its first line;
/// killed when released. The one start-up, GET and stop of the tests' Python servers (the
/// origin, the cache, the fetcher's server).
final class PythonServer: @unchecked Sendable {  // `process` is only signalled and waited for
    let port: Int
    private let process: Process

    /// Starts `python3 arguments…` and reads the port it prints.
    init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        port = try #require(Int(String(decoding: line, as: UTF8.self)), "\(arguments.first ?? "python3") did not print its port")
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// The body of GET `path`, fetched through python3 (Foundation on Linux has no http: in
    /// `Data(contentsOf:)`).
    func get(_ path: String) throws -> String {
        let fetch = try WarmTestKit.run(
            "/usr/bin/env", ["python3", "-c", "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())", base + path])
        try #require(fetch.status == 0, "GET \(path) failed: \(fetch.stderr)")
        return fetch.stdout
    }

    /// GET `path` as a JSON object.
    func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(get(path).utf8)) as? [String: Any])
    }

    deinit {
        Foundation.kill(process.processIdentifier, SIGKILL)  // see WarmRedisServer.stop
        process.waitUntilExit()
    }
}
