import WarmsetModel
import Foundation
import Testing
import WarmsetEmit
import WarmsetWarm

@Suite("Warm plan, templates, TTLs, manifests")
struct WarmPiecesTests {
    @Test func templateFillsKeyPathAndCaptures() throws {
        let template = try OriginTemplate("http://api:8080/p/{1}/v/{2}?k={key}&from={path}")
        let entry = WarmEntry(key: "product:7 x", path: "/products/7", captures: ["7", "a/b"])
        #expect(template.url(for: entry) == "http://api:8080/p/7/v/a%2Fb?k=product:7%20x&from=/products/7")
        #expect(template.url(for: WarmEntry(key: "k")) == nil)  // no captures, no path
        #expect(try OriginTemplate("http://api/{key}").url(for: WarmEntry(key: "a:b")) == "http://api/a:b")
    }

    @Test("{key} and {N} encode every byte outside RFC 3986's unreserved set and :@!$&'()*+,;= as %XX, as a byte-by-byte reference does")
    func percentEncodingMatchesAReference() throws {
        let key = String(decoding: Array(0x20...0x7E).map(UInt8.init) + Array("é€/?#%".utf8), as: UTF8.self)
        let keep = Set(Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:@!$&'()*+,;=".utf8))
        let expected = key.utf8.map { keep.contains($0) ? String(UnicodeScalar($0)) : String(format: "%%%02X", $0) }.joined()
        let template = try OriginTemplate("http://api/v/{key}/{1}")
        #expect(template.url(for: WarmEntry(key: key, captures: [key])) == "http://api/v/\(expected)/\(expected)")
        #expect(template.url(for: WarmEntry(key: "product:0000001", captures: ["7"])) == "http://api/v/product:0000001/7", "nothing to encode")
    }

    @Test(arguments: ["api/{key}", "http://api/{nope}", "http://api/{key", "http://api/{0}"])
    func badTemplates(_ text: String) {
        #expect(throws: WarmError.self) { _ = try OriginTemplate(text) }
    }

    @Test func jitterIsStableBoundedAndSpread() {
        let policy = TTLPolicy(seconds: 1000, jitter: 0.1)
        var seen = Set<Int>()
        for i in 0..<2000 {
            let key = "key:\(i)"
            let ttl = policy.ttl(forKey: key)
            #expect(ttl == policy.ttl(forKey: key))
            let value = try! #require(ttl)
            #expect(value >= 900 && value <= 1100)
            seen.insert(value)
        }
        #expect(seen.count > 150)  // spread over the ±100 s window
        #expect(TTLPolicy(seconds: 1, jitter: 1).ttl(forKey: "x")! >= 1)
        #expect(TTLPolicy.none.ttl(forKey: "x") == nil)
        // A fixed value: the hash is FNV-1a, the same in every process.
        #expect(StableHash.fnv1a64("") == 0xcbf2_9ce4_8422_2325)
        #expect(StableHash.fnv1a64("a") == 0xaf63_dc4c_8601_ec8c)
    }

    @Test func jitterAndLimitsParse() throws {
        #expect(try TTLPolicy.parseJitter("10%") == 0.1)
        #expect(try TTLPolicy.parseJitter("0.25") == 0.25)
        #expect(throws: WarmError.self) { _ = try TTLPolicy.parseJitter("150%") }
        #expect(try FailureLimit.parse("5%") == .share(0.05))
        #expect(try FailureLimit.parse("100") == .count(100))
        #expect(try FailureLimit.parse("none") == .unlimited)
        #expect(FailureLimit.count(2).isExceeded(failed: 3, total: 10))
        #expect(!FailureLimit.share(0.5).isExceeded(failed: 5, total: 10))
    }

    @Test func planDropsDuplicates() {
        let plan = WarmPlan([WarmEntry(key: "a"), WarmEntry(key: "b"), WarmEntry(key: "a", path: "/x")])
        #expect(plan.entries.map(\.key) == ["a", "b"])
        #expect(plan.entries[0].path == "")
        #expect(plan.duplicatesDropped == 1)
    }

    @Test func manifestFormatsRoundTrip() throws {
        let jsonl = Array(#"{"rank":1,"key":"product:1","count":9,"path":"/products/1","captures":["1"],"error_bound":1}"#.utf8) + [10]
            + Array(#"{"rank":2,"key":"home","count":3,"path":"/"}"#.utf8) + [10]
        let entries = try ManifestReader.parse(jsonl, name: "w.jsonl")
        #expect(entries == [ManifestEntry(key: "product:1", path: "/products/1", captures: ["1"]), ManifestEntry(key: "home", path: "/")])
        #expect(try ManifestReader.parse(Array("a\t3\r\nb\t1\n\n".utf8), name: "w.tsv").map(\.key) == ["a", "b"])
        // A keys manifest line with a space is refused (an access log given where keys belong).
        #expect(throws: EmitError.self) { _ = try ManifestReader.parse(Array("a b\nc\n".utf8), name: "w.keys") }
        // A hash-tagged key starts with '{' but is no JSON: still a keys manifest.
        #expect(try ManifestReader.parse(Array("{user7}.cart\n{user7}.seen\n".utf8), name: "w.keys").map(\.key) == ["{user7}.cart", "{user7}.seen"])
    }

    /// A manifest that is a pipe (`warm <(zcat keys.gz)`) has no size to read up to: every line
    /// still arrives. A directory is one clear error naming it.
    @Test func manifestFromAPipeAndFromADirectory() throws {
        let dir = try WarmTestKit.temporaryDirectory()
        let fifo = dir.appendingPathComponent("keys.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let keys = (0..<5_000).map { "pipe:\($0)" }
        let writer = Thread {
            let text = keys.joined(separator: "\n") + "\n"
            try? text.write(toFile: fifo, atomically: false, encoding: .utf8)
        }
        writer.start()
        #expect(try ManifestReader.read(path: fifo).map(\.key) == keys)
        #expect {
            _ = try ManifestReader.read(path: dir.path)
        } throws: { error in
            String(describing: error).contains(dir.path) && String(describing: error).contains("Is a directory")
        }
    }

    @Test func manifestErrorsNameFileAndLine() {
        let bytes = Array("{\"key\":\"a\"}\n{\"count\":1}\n".utf8)
        #expect {
            _ = try ManifestReader.parse(bytes, name: "warm.jsonl")
        } throws: { error in
            String(describing: error).hasPrefix("warm.jsonl:2: ")
        }
        #expect {
            _ = try ManifestReader.parse(Array("a\t1\nb\n".utf8), name: "w.tsv", format: .tsv)
        } throws: { error in
            String(describing: error).hasPrefix("w.tsv:2: ")
        }
    }
}
