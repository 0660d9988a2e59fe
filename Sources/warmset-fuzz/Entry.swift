#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's `main` to `<module>_main`; here that hands control to libFuzzer.
@_cdecl("warmset_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzOneInput(data, size) }
}

/// libFuzzer's entry point; the target is chosen by `WARMSET_FUZZ_TARGET`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.run(FuzzEntry.target, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
/// Without libFuzzer: `warmset-fuzz TARGET FILE…` replays inputs (crash fixtures, corpora).
@main
struct Replay {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2, FuzzTargets.names.contains(arguments[1]) else {
            print("usage: warmset-fuzz \(FuzzTargets.names.joined(separator: "|")) FILE...")
            exit(64)
        }
        for path in arguments.dropFirst(2) {
            guard let file = fopen(path, "rb") else { continue }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = fread(&chunk, 1, chunk.count, file)
                if n <= 0 { break }
                bytes += chunk[0..<n]
            }
            fclose(file)
            bytes.withUnsafeBytes { FuzzTargets.run(arguments[1], $0) }
            print("ok \(path)")
        }
    }
}
#endif

enum FuzzEntry {
    static let target: String = {
        guard let value = getenv("WARMSET_FUZZ_TARGET") else { return "lineparser" }
        return String(cString: value)
    }()
}
