import Foundation
import Testing
@testable import WarmsetEmit

/// A keys manifest holds one key a line: a line with a space or a control byte is something else
/// given by mistake (most often the access log itself), refused before anything is fetched.
@Suite("Manifest: lines that cannot be keys are refused")
struct ManifestRefusalTests {
    @Test func anAccessLogIsRefusedAtItsFirstLine() throws {
        let log = try TestSupport.fixtureBytes("combined/escapes-and-queries.log")
        #expect {
            _ = try ManifestReader.parse(log, name: "access.log")
        } throws: { error in
            String(describing: error) == "access.log: line 1 looks like an access log line, not a key; run warmset analyze first"
        }
        let common = try TestSupport.fixtureBytes("common/basic.log")
        #expect(throws: EmitError.self) { _ = try ManifestReader.parse(common, name: "basic.log", format: .keys) }
    }

    @Test func aSpaceOrAControlByteIsNamedWithItsLineAndByte() {
        #expect {
            _ = try ManifestReader.parse(Array("home\nproduct 1\n".utf8), name: "w.keys")
        } throws: { error in
            String(describing: error).hasPrefix("w.keys: line 2 holds a space at byte 8, which a key cannot")
        }
        #expect {
            _ = try ManifestReader.parse(Array("a\u{1}b\n".utf8), name: "w.keys")
        } throws: { error in
            String(describing: error).hasPrefix("w.keys: line 1 holds the control byte 0x01 at byte 2")
        }
        // A tab in a manifest read as keys (a tsv line given with --manifest-format keys).
        #expect(throws: EmitError.self) { _ = try ManifestReader.parse(Array("a\t3\n".utf8), name: "w.keys", format: .keys) }
    }

    @Test func keysTsvAndJsonlThatAreSoundStillRead() throws {
        // CR LF endings and empty lines are no keys' bytes.
        #expect(try ManifestReader.parse(Array("a\r\n\nb:{x}/y?z=1\n".utf8), name: "w.keys").map(\.key) == ["a", "b:{x}/y?z=1"])
        // A tsv or jsonl key is parsed by its format: a space inside it is the key's own.
        #expect(try ManifestReader.parse(Array("a b\t3\n".utf8), name: "w.tsv").map(\.key) == ["a b"])
        #expect(try ManifestReader.parse(Array(#"{"key":"a b"}"#.utf8) + [10], name: "w.jsonl").map(\.key) == ["a b"])
    }

    /// `warmset warm access.log --redis … --origin …`: exits non-zero with the sentence, before
    /// connecting or fetching (nothing listens on port 1; an attempt would say so instead).
    @Test func warmGivenALogExitsBeforeConnecting() throws {
        let log = TestSupport.fixture("combined/escapes-and-queries.log")
        let result = try TestSupport.run(["warm", log, "--redis", "redis://127.0.0.1:1", "--origin", "http://127.0.0.1:1/{key}", "--ttl", "60"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(log): line 1 looks like an access log line, not a key; run warmset analyze first"), "\(result.stderr)")
        #expect(!result.stderr.contains("127.0.0.1:1"), "\(result.stderr)")
    }
}
