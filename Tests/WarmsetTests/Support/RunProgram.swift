import Foundation

/// What a program printed and how it ended.
struct ProgramOutput {
    var status: Int32
    var stdout: Data
    var stderr: Data
}

extension TestSupport {
    /// Runs `executable` to its end, feeding it `stdin` (an empty pipe when nil), and collects
    /// all it wrote: stdout and stderr are each read to end-of-file on a thread of their own, so
    /// neither pipe fills up, and both threads are joined before the output is returned.
    /// - Parameters:
    ///   - environment: the whole environment of the program; nil: this process's.
    ///   - timeout: seconds after which a program still running is sent SIGTERM; nil: none.
    static func runProgram(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil,
        in directory: URL? = nil, timeout: Double? = nil
    ) throws -> ProgramOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        let stdout = Handoff<Data>(), stderr = Handoff<Data>()
        Thread { stdout.put(out.fileHandleForReading.readDataToEndOfFile()) }.start()
        Thread { stderr.put(err.fileHandleForReading.readDataToEndOfFile()) }.start()
        let watchdog = timeout.map { seconds in
            let item = DispatchWorkItem { if process.isRunning { process.terminate() } }
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: item)
            return item
        }
        // The readers drain both pipes meanwhile, so this write waits only on the program
        // reading its stdin; one that exits without reading it all only makes the write fail.
        if let stdin { try? input.fileHandleForWriting.write(contentsOf: stdin) }
        try? input.fileHandleForWriting.close()
        let output = (stdout.wait(), stderr.wait())
        process.waitUntilExit()
        watchdog?.cancel()
        return ProgramOutput(status: process.terminationStatus, stdout: output.0, stderr: output.1)
    }
}
