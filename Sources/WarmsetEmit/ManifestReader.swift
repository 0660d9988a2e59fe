import Foundation
import WarmsetSystem

/// One line of a manifest read back: the key, and from jsonl the path and the rule's captures.
public struct ManifestEntry: Sendable, Equatable {
    /// The cache key.
    public var key: String
    /// The representative request path (jsonl only).
    public var path: String?
    /// The key rule's captures (jsonl only; empty when the key came from no rule).
    public var captures: [String]

    /// Creates an entry.
    public init(key: String, path: String? = nil, captures: [String] = []) {
        self.key = key
        self.path = path
        self.captures = captures
    }
}

/// Reads the manifests `ManifestRenderer` writes (`keys`, `tsv`, `jsonl`), so that a warmer can
/// take `warmset analyze`'s output, or a hand-written list of keys.
public enum ManifestReader {
    /// The format of `bytes`, from its first non-empty line: a JSON object is jsonl (a key such
    /// as `{user7}.cart` starts with `{` too, so the line must parse), a tab makes tsv, anything
    /// else is keys.
    public static func detectFormat(_ bytes: [UInt8]) -> ManifestFormat {
        var index = 0
        while index < bytes.count, bytes[index] == 0x0A || bytes[index] == 0x0D { index += 1 }
        guard index < bytes.count else { return .keys }
        let start = index
        var tab = false
        while index < bytes.count, bytes[index] != 0x0A {
            if bytes[index] == 0x09 { tab = true }
            index += 1
        }
        if bytes[start] == 0x7B,
            (try? JSONSerialization.jsonObject(with: Data(bytes[start..<index]))) is [String: Any]
        {
            return .jsonl
        }
        return tab ? .tsv : .keys
    }

    /// Reads the manifest at `path` (`-` for stdin).
    /// - Parameter format: the format, or nil to detect it from the first line.
    /// - Throws: `EmitError` naming the file (and line) that cannot be read.
    public static func read(path: String, format: ManifestFormat? = nil) throws(EmitError) -> [ManifestEntry] {
        try read(path: path, format: format) { $0 }
    }

    /// Reads the manifest at `path` (`-` for stdin), making each entry with `make` as its line is
    /// read (a warmer's own entry type, without an array of `ManifestEntry` in between).
    /// - Throws: `EmitError` naming the file (and line) that cannot be read.
    public static func read<Entry>(
        path: String, format: ManifestFormat? = nil, make: (ManifestEntry) -> Entry
    ) throws(EmitError) -> [Entry] {
        let bytes: [UInt8]
        if path == "-" {
            bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        } else {
            bytes = try contents(of: path)
        }
        return try parse(bytes, name: path, format: format, make: make)
    }

    /// The bytes of the file at `path`, read straight into one array.
    private static func contents(of path: String) throws(EmitError) -> [UInt8] {
        do throws(Errno) {
            let fd = try FileDescriptor.open(path, .readOnly)
            defer { try? fd.close() }
            // The size fstat saw, plus one byte: a read that fills that byte means the file grew
            // (or has no size: a pipe); then it is read on in steps until its end.
            var bytes = [UInt8](repeating: 0, count: max(Int(try fd.status().size), 0) + 1)
            var count = 0
            while true {
                if count == bytes.count { bytes += [UInt8](repeating: 0, count: max(bytes.count, 64 * 1024)) }
                var failure: Errno?
                let got = bytes.withUnsafeMutableBytes { buffer in
                    do throws(Errno) {
                        return try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]))
                    } catch {
                        failure = error
                        return 0
                    }
                }
                if let failure { throw failure }
                if got == 0 { break }
                count += got
            }
            bytes.removeSubrange(count...)
            return bytes
        } catch {
            throw EmitError(path: path, operation: "reading the manifest", code: error.code)
        }
    }

    /// Parses manifest bytes. Empty lines are skipped; a line that is not valid in the format is
    /// an error naming its line number.
    /// - Parameter name: the file name used in errors.
    /// - Complexity: O(n) in the bytes.
    public static func parse(_ bytes: [UInt8], name: String, format: ManifestFormat? = nil) throws(EmitError) -> [ManifestEntry] {
        try parse(bytes, name: name, format: format) { $0 }
    }

    /// `parse`, making each entry with `make` as its line is read.
    public static func parse<Entry>(
        _ bytes: [UInt8], name: String, format: ManifestFormat? = nil, make: (ManifestEntry) -> Entry
    ) throws(EmitError) -> [Entry] {
        let format = format ?? detectFormat(bytes)
        var entries: [Entry] = []
        // One entry a line: sized once, not grown by doubling through a million-key manifest.
        entries.reserveCapacity(lineCount(bytes))
        var lineNumber = 0
        var start = 0
        let decoder = JSONDecoder()
        while start < bytes.count {
            let end = lineEnd(bytes, from: start)
            lineNumber += 1
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = bytes[start..<lineEnd]
            start = end + 1
            if line.isEmpty { continue }
            func failure(_ detail: String) -> EmitError {
                EmitError(path: name, operation: "reading the manifest", code: 0, line: lineNumber, detail: detail)
            }
            switch format {
            case .keys:
                if let refusal = Self.refusal(ofKey: line, name: name, lineNumber: lineNumber) { throw refusal }
                entries.append(make(ManifestEntry(key: String(decoding: line, as: UTF8.self))))
            case .tsv:
                guard let tab = line.firstIndex(of: 0x09), tab > line.startIndex else {
                    throw failure("expected KEY<TAB>COUNT (tsv manifest)")
                }
                entries.append(make(ManifestEntry(key: String(decoding: line[..<tab], as: UTF8.self))))
            case .jsonl:
                let object: JSONLine
                do {
                    object = try decoder.decode(JSONLine.self, from: Data(line))
                } catch {
                    throw failure("not a jsonl manifest line with a string \"key\" (\(Self.reason(error)))")
                }
                guard !object.key.isEmpty else { throw failure("\"key\" is empty") }
                entries.append(make(ManifestEntry(key: object.key, path: object.path, captures: object.captures ?? [])))
            }
        }
        return entries
    }

    /// Why a line of a keys manifest cannot be a key, or nil when it can: a key holds no space
    /// and no control byte, so a line that does is something else given by mistake (most often
    /// an access log given where `warmset analyze`'s manifest belongs). Refused before anything
    /// is fetched or written.
    /// - Complexity: O(n) in the line's bytes.
    static func refusal(ofKey line: ArraySlice<UInt8>, name: String, lineNumber: Int) -> EmitError? {
        guard let at = line.firstIndex(where: { $0 <= 0x20 || $0 == 0x7F }) else { return nil }
        let column = at - line.startIndex + 1
        let detail: String
        if looksLikeAccessLogLine(line) {
            detail = "looks like an access log line, not a key; run warmset analyze first"
        } else {
            let byte = line[at]
            let hex = String(byte, radix: 16, uppercase: true)
            let what = byte == 0x20 ? "a space" : "the control byte 0x\(hex.count == 1 ? "0" : "")\(hex)"
            detail = "holds \(what) at byte \(column), which a key cannot; give keys with spaces in a jsonl manifest ({\"key\":\"...\"})"
        }
        return EmitError(path: name, operation: "reading the manifest", code: 0, line: lineNumber, column: column, detail: detail)
    }

    /// Whether `line` reads as an nginx or Apache access log line: a request (`"GET / HTTP/1.1"`)
    /// or a bracketed time followed by a quoted field.
    private static func looksLikeAccessLogLine(_ line: ArraySlice<UInt8>) -> Bool {
        contains(line, " HTTP/") || contains(line, "] \"")
    }

    /// Whether `needle` occurs in `line` (a plain search: only a refused line is looked at).
    private static func contains(_ line: ArraySlice<UInt8>, _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard line.count >= pattern.count else { return false }
        return (line.startIndex...(line.endIndex - pattern.count)).contains { line[$0..<($0 + pattern.count)].elementsEqual(pattern) }
    }

    /// The offset of the first newline at or after `from`, or `bytes.count`.
    private static func lineEnd(_ bytes: [UInt8], from: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, from < buffer.count,
                let hit = memchr(base + from, 0x0A, buffer.count - from)
            else { return buffer.count }
            return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
        }
    }

    /// The number of lines of `bytes` (a last one without a newline included).
    private static func lineCount(_ bytes: [UInt8]) -> Int {
        var count = 0
        var at = 0
        while at < bytes.count {
            at = lineEnd(bytes, from: at) + 1
            count += 1
        }
        return count
    }

    private struct JSONLine: Decodable {
        var key: String
        var path: String?
        var captures: [String]?
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context): return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted: return "invalid JSON"
        default: return "invalid"
        }
    }
}
