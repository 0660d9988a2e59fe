import ArgumentParser
import Foundation
import WarmsetAnalysis

/// A command that takes the analysis options (`analyze`, `watch`): the option groups, and the
/// library configuration made from them.
protocol AnalysisOptionGroups {
    var input: InputOptions { get }
    var filters: FilterOptions { get }
    var keys: KeyOptions { get }
    var counting: CountingOptions { get }
    var selection: SelectionOptions { get }
    var weights: WeightOptions { get }
    /// Sets what only this command's own options decide: the size of the warm set, the update
    /// rule, and (analyze) the output policy, sketch, recount and report files and strategy.
    /// - Throws: `ValidationError` for an option that does not read.
    func applyCommandOptions(to c: inout AnalysisConfiguration) throws
}

extension Analyze: AnalysisOptionGroups {
    func applyCommandOptions(to c: inout AnalysisConfiguration) throws {
        c.top = output.top
        c.allowPartial = output.allowPartial
        c.maxMalformedFraction = Share.parse(output.maxMalformed) ?? 0.05
        c.apply(sketchFile: sketchFile)
        c.strategy = try strategy.deployStrategy(now: Int64(Date().timeIntervalSince1970))
        // Captures reach only a jsonl manifest and a warmer (its origin template's $1…).
        c.keepsCaptures = warmTarget != nil || output.manifest == .manifest(.jsonl, to: output.output)
    }
}

extension AnalysisOptionGroups {
    /// Compiles the configuration now, so that a bad format, rule or filter is a usage error
    /// (exit 64) rather than a failure after the inputs were opened.
    func validateAnalysis() throws {
        do {
            _ = try CompiledAnalysis(try makeConfiguration())
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }

    /// The analysis configuration the options describe (a rules file applied under them).
    /// - Throws: `ConfigurationError` for a rules file that cannot be read or applied.
    func makeConfiguration() throws -> AnalysisConfiguration {
        var c = AnalysisConfiguration()
        c.inputs = input.logs.isEmpty ? ["-"] : input.logs
        c.format = input.lines.format
        c.jsonFields = try input.jsonFieldNames()
        c.maxLineBytes = input.lines.maxLineBytes
        c.inflater = input.inflate == .zlib ? .zlib : .isal
        c.decodeInBackground = !input.singleThread
        c.parseThreads = input.parseThreads
        c.spareCoreForInflate = !input.threadsChosen
        c.methods = filters.methods ?? c.methods
        c.status = filters.status ?? c.status
        c.since = filters.since
        c.until = filters.until
        c.host = filters.host
        c.excludes = filters.excludes
        c.rules = keys.rules
        c.keepQuery = keys.keepQuery ?? c.keepQuery
        c.maxKeyBytes = keys.maxKeyBytes
        c.exact = counting.exact
        c.sketch = counting.parameters
        try applyCommandOptions(to: &c)
        c.apply(weight: weights, selection: selection, counting: counting)
        if let path = keys.rulesFile {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigurationError("--rules \(path): cannot read the file (\(error.localizedDescription))")
            }
            var explicit = Set<String>()
            if filters.methods != nil { explicit.insert("methods") }
            if filters.status != nil { explicit.insert("status") }
            if keys.keepQuery != nil { explicit.insert("keep-query") }
            if filters.host != nil { explicit.insert("host") }
            if filters.since != nil { explicit.insert("since") }
            if filters.until != nil { explicit.insert("until") }
            if input.lines.format != "combined" { explicit.insert("format") }
            try RulesFile(yaml: text, name: path).apply(to: &c, explicit: explicit)
        }
        let stdinCount = c.inputs.filter { $0 == "-" }.count
        if stdinCount > 1 { throw ConfigurationError("stdin ('-') can be read only once") }
        return c
    }
}
