import Foundation
import Testing
import WarmsetEmit

/// These run the built `warmset` binary and check its output, files and exit codes.
@Suite("warmset analyze, end to end")
struct AnalyzeCommandTests {
    static func tsv(_ text: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            if parts.count == 2 { out[String(parts[0])] = Int(parts[1]) }
        }
        return out
    }

    @Test("the shared real log: top 3 under the defaults, as its README gives them")
    func realLogTopThree() throws {
        guard let path = TestSupport.realLog else {
            print("skipped: ../shared/real-logs is absent (a fresh clone has no shared folder)")
            return
        }
        let result = try TestSupport.run(["analyze", path, "--top", "3", "--output-format", "tsv", "-q"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "/acl_users/credentials_cookie_auth/require_login\t772\n/join_form\t585\n/login_form\t520\n")
    }

    @Test("sketch and exact mode agree with an independent exact count, on the real log and every combined fixture")
    func agreesWithReference() throws {
        var inputs = ["combined/escapes-and-queries.log", "gzip/multi-member.log.gz", "sample/access.log.gz"].map(TestSupport.fixture)
        if let real = TestSupport.realLog { inputs.append(real) }
        for input in inputs {
            let plain = try Self.decompressed(input)
            let expected = ReferenceCount.counts(of: plain)
            #expect(!expected.isEmpty, "\(input)")
            for mode in [["--exact"], []] {
                let result = try TestSupport.run(["analyze", input, "--top", "100000", "--output-format", "tsv", "-q"] + mode)
                #expect(result.status == 0, "\(input) \(mode): \(result.stderr)")
                #expect(Self.tsv(result.stdout) == expected, "\(input) \(mode)")
            }
        }
    }

    static func decompressed(_ path: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -dcf '\(path)'"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }

    @Test("several files are one stream, and stdin is an input")
    func multipleInputsAndStdin() throws {
        let a = TestSupport.fixture("combined/escapes-and-queries.log")
        let b = TestSupport.fixture("gzip/single.log.gz")
        let both = try TestSupport.run(["analyze", a, b, "--output-format", "tsv", "-q", "--exact"])
        #expect(both.status == 0)
        #expect(Self.tsv(both.stdout)["/products/1"] == 8)
        let stdin = try TestSupport.run(["analyze", "--output-format", "tsv", "-q"], stdin: Data(try TestSupport.fixtureBytes("gzip/single.log.gz")))
        #expect(stdin.status == 0)
        #expect(Self.tsv(stdin.stdout)["/products/1"] == 4)
        let dash = try TestSupport.run(["analyze", a, "-", "--output-format", "tsv", "-q"], stdin: Data(try TestSupport.fixtureBytes("combined/escapes-and-queries.log")))
        #expect(Self.tsv(dash.stdout)["/products/1"] == 8)
    }

    @Test("manifest formats: keys, tsv and jsonl with rank, path, captures and the error bound")
    func formats() throws {
        let input = TestSupport.fixture("combined/escapes-and-queries.log")
        let keys = try TestSupport.run(["analyze", input, "--top", "2", "-q"])
        #expect(keys.stdout == "/products/1\n/products/2\n")
        let jsonl = try TestSupport.run(["analyze", input, "--top", "2", "-q", "--output-format", "jsonl", "--rule", #"^/products/(\d+)$ => product:$1"#])
        #expect(jsonl.status == 0)
        let lines = jsonl.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["rank"] as? Int == 1)
        #expect(first?["key"] as? String == "product:1")
        #expect(first?["count"] as? Int == 4)
        #expect(first?["path"] as? String == "/products/1")
        #expect(first?["captures"] as? [String] == ["1"])
        #expect(first?["error_bound"] as? Int == 1)
        let exact = try TestSupport.run(["analyze", input, "--top", "1", "-q", "--output-format", "jsonl", "--exact"])
        #expect(!exact.stdout.contains("error_bound"))
    }

    @Test("rules from a YAML file, filters and keep-query")
    func rulesFileAndFilters() throws {
        let input = TestSupport.fixture("combined/escapes-and-queries.log")
        let result = try TestSupport.run(["analyze", input, "--rules", TestSupport.fixture("rules/shop.yaml"), "--output-format", "tsv", "-q"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.tsv(result.stdout) == ["product:1": 4, "product:2": 3, "product:3": 1, "user:42": 2])
        let heads = try TestSupport.run(["analyze", input, "--methods", "HEAD", "--output-format", "tsv", "-q"])
        #expect(Self.tsv(heads.stdout) == ["/products/1": 1])
        let errors = try TestSupport.run(["analyze", input, "--status", "4xx,500", "--output-format", "tsv", "-q"])
        #expect(Self.tsv(errors.stdout) == ["/missing": 1, "/broken": 1])
        let query = try TestSupport.run(["analyze", input, "--keep-query", "q,a,b", "--output-format", "tsv", "-q"])
        #expect(Self.tsv(query.stdout)["/search?a=1&b=2&q=caf%C3%A9"] == 2)
        let excluded = try TestSupport.run(["analyze", input, "--exclude", "^/products/", "--output-format", "tsv", "-q"])
        #expect(Self.tsv(excluded.stdout)["/products/1"] == nil)
        #expect(Self.tsv(excluded.stdout)["/search"] == 2)
    }

    @Test("custom log_format with --host and --since/--until")
    func customFormat() throws {
        let format = try String(contentsOfFile: TestSupport.fixture("custom/format.txt"), encoding: .utf8).trimmingCharacters(in: .newlines)
        let result = try TestSupport.run([
            "analyze", TestSupport.fixture("custom/access.log"), "--format", format, "--host", "shop.example.com",
            "--since", "2026-11-27T08:15:00Z", "--until", "2026-11-27T09:31:00Z", "--output-format", "tsv", "-q",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.tsv(result.stdout) == ["/products/8": 1, "/products/9": 1])
    }

    @Test("JSON lines with default and custom field names")
    func json() throws {
        let result = try TestSupport.run([
            "analyze", TestSupport.fixture("json/access.jsonl"), "--format", "json", "--max-malformed", "20%", "--output-format", "tsv", "-q",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.tsv(result.stdout) == ["/products/5": 2, "/products/6": 1, "/say%22hi%22/%C3%A9t%C3%A9": 1])
        let custom = try TestSupport.run([
            "analyze", TestSupport.fixture("json/custom-fields.jsonl"), "--format", "json", "--json-field", "method=verb",
            "--json-field", "request_uri=target", "--json-field", "status=code", "--output-format", "tsv", "-q",
        ])
        #expect(Self.tsv(custom.stdout) == ["/a": 2])
    }

    @Test("usage errors exit 64 with one sentence", arguments: [
        (["--rule", "^/(x$ => k"], "--rule"),
        (["--format", "$remote_addr $bogus_var $request"], "unknown variable $bogus_var"),
        (["--status", "2xx,abc"], "--status"),
        (["--since", "yesterday"], "--since"),
        (["--host", "x"], "--host needs $host"),
        (["--top", "0"], "--top"),
        (["--sketch-memory", "lots"], "--sketch-memory"),
        (["--json-field", "nope=x"], "--json-field"),
        (["--rules", "/nonexistent/rules.yaml"], "cannot read"),
        // The values of an enum option are listed (`allValueStrings`, given without a key path).
        (["--inflate", "gzip"], "Please provide one of 'isal' and 'zlib'"),
        (["--output-format", "csv"], "Please provide one of 'keys', 'tsv', 'jsonl' or 'urls'"),
    ])
    func usageErrors(arguments: [String], expected: String) throws {
        let result = try TestSupport.run(["analyze", TestSupport.fixture("common/basic.log")] + arguments)
        #expect(result.status == 64, "\(arguments): \(result.stderr)")
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("a damaged gzip file: exit 1, the file and byte named, no manifest; --allow-partial writes it marked partial")
    func partialInput() throws {
        let dir = try TestSupport.temporaryDirectory()
        let out = dir.appendingPathComponent("warm.keys").path
        try "old manifest\n".write(toFile: out, atomically: true, encoding: .utf8)
        let truncated = TestSupport.fixture("gzip/truncated.log.gz")
        let good = TestSupport.fixture("common/basic.log")
        let failed = try TestSupport.run(["analyze", good, truncated, "--format", "common", "-o", out])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("truncated.log.gz: gzip stream is truncated at compressed byte 320"))
        #expect(failed.stderr.contains("partial"))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "old manifest\n", "the old manifest stays")

        let summary = dir.appendingPathComponent("summary.json").path
        let allowed = try TestSupport.run(["analyze", good, truncated, "--format", "common", "--max-malformed", "100%", "-o", out, "--allow-partial", "--summary-json", summary])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stderr.contains("PARTIAL"))
        #expect(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("/index.html\n"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any]
        #expect(json?["partial"] as? Bool == true)

        let missing = try TestSupport.run(["analyze", "/nonexistent/access.log"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/nonexistent/access.log: cannot open"))
    }

    @Test("a wrong --format fails the run instead of writing an empty manifest")
    func wrongFormat() throws {
        let result = try TestSupport.run(["analyze", TestSupport.fixture("json/access.jsonl")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("do not match the format 'combined'"))
        #expect(result.stderr.contains("check --format"))
        #expect(result.stdout.isEmpty)
    }

    @Test("--output replaces the file whole; --summary-json has the counts")
    func outputAndSummary() throws {
        let dir = try TestSupport.temporaryDirectory()
        let out = dir.appendingPathComponent("warm.tsv").path
        let summary = dir.appendingPathComponent("s.json").path
        let result = try TestSupport.run([
            "analyze", TestSupport.fixture("combined/escapes-and-queries.log"), "-o", out, "--output-format", "tsv", "--summary-json", summary,
        ])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        #expect(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("/products/1\t4\n"))
        #expect(result.stderr.contains("malformed   1"))
        #expect(result.stderr.contains("escapes-and-queries.log:21:"))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(Set(files) == ["warm.tsv", "s.json"], "no temporary file is left behind")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any]
        #expect(json?["linesRead"] as? Int == 25)
        #expect(json?["linesMalformed"] as? Int == 1)
        #expect(json?["requestsCounted"] as? Int == 16)
        let filtered = json?["filtered"] as? [String: Int]
        #expect(filtered?["forbidden_byte"] == 1)
        #expect(filtered?["absolute_form"] == 1)
        #expect(filtered?["method"] == 2)
        #expect(json?["partial"] as? Bool == false)
    }

    @Test("generate is deterministic and its output analyzes cleanly")
    func generate() throws {
        let a = try TestSupport.run(["generate", "--lines", "2000", "--keys", "100", "--seed", "5"])
        let b = try TestSupport.run(["generate", "--lines", "2000", "--keys", "100", "--seed", "5"])
        let c = try TestSupport.run(["generate", "--lines", "2000", "--keys", "100", "--seed", "6"])
        #expect(a.status == 0 && a.stdout == b.stdout && a.stdout != c.stdout)
        #expect(a.stdout.split(separator: "\n").count == 2000)
        let analyzed = try TestSupport.run(["analyze", "--output-format", "tsv", "--top", "1", "-q"], stdin: Data(a.stdout.utf8))
        #expect(analyzed.status == 0)
        #expect(analyzed.stdout.hasPrefix("/products/100000\t"))
        for format in ["json", "common"] {
            let generated = try TestSupport.run(["generate", "--lines", "500", "--format", format])
            let result = try TestSupport.run(["analyze", "--format", format, "-q", "--top", "1"], stdin: Data(generated.stdout.utf8))
            #expect(result.status == 0, "\(format): \(result.stderr)")
            #expect(!result.stdout.isEmpty)
        }
    }

    @Test("--help teaches by example")
    func help() throws {
        let result = try TestSupport.run(["analyze", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Examples:"))
        #expect(result.stdout.contains("--rule"))
        #expect(result.stdout.contains("Exit status"))
    }
}

@Suite("Inflaters and threads agree")
struct InflaterAgreementTests {
    @Test("isal, zlib and --single-thread give the same manifest")
    func agree() throws {
        let dir = try TestSupport.temporaryDirectory()
        let log = dir.appendingPathComponent("gen.log.gz").path
        #expect(try TestSupport.shell(
            "'\(TestSupport.binary)' generate --lines 60000 --keys 3000 --seed 3 | gzip -1 > '\(log)' && '\(TestSupport.binary)' generate --lines 1000 --seed 4 | gzip >> '\(log)'") == 0)
        var outputs: [String] = []
        for extra in [["--inflate", "isal"], ["--inflate", "zlib"], ["--single-thread"], ["--inflate", "zlib", "--single-thread"]] {
            let result = try TestSupport.run(["analyze", log, "--top", "500", "--output-format", "tsv", "-q"] + extra)
            #expect(result.status == 0, "\(extra): \(result.stderr)")
            outputs.append(result.stdout)
        }
        #expect(outputs[0].split(separator: "\n").count == 500)
        #expect(Set(outputs).count == 1)
    }
}
