import Foundation
import Testing

/// A python3 test server started with `arguments`, which prints its port on its first line.
enum PythonServer {
    /// Starts `python3 arguments…` and reads the port it prints.
    static func start(_ arguments: [String]) throws -> (process: Process, port: Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        let port = try #require(Int(String(decoding: line, as: UTF8.self)), "\(arguments.first ?? "python3") did not print its port")
        return (process, port)
    }
}
